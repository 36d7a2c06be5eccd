//! mps11 build: library, tests, fuzzing, stress, sanitizers, cross-compilation.
//!
//!   ci/zig build                      libmps11 (static and shared), headers, mps11.pc
//!   ci/zig build -Dvariety=cool       the same with every check on (hot by default; rash: none)
//!   ci/zig build test                 Criterion unit tests, library in cool, hot and rash,
//!                                     and in cool built single-threaded, without
//!                                     incremental collection, without the barrier
//!                                     and for the C library alone
//!   ci/zig build stress               every stress harness (hot), each printing its seed
//!   ci/zig build fuzz -Dfuzz-seconds=N   every libFuzzer target for N seconds (clang-14)
//!   ci/zig build sanitize             tests and harnesses under ASan+UBSan and under TSan
//!   ci/zig build cross                library and stress_gc for 8 targets; every
//!                                     harness for arm64 Linux and x86-64 Windows,
//!                                     run under qemu-aarch64 and wine
//!   ci/zig build single               the single-file build with every warning an error
//!   ci/zig build demo                 the Scheme interpreter's demo program, with GC statistics
//!   ci/zig build demo-manual          the manual-pool example
//!
//! The library is always compiled from the amalgamation src/mps.c, so the list of
//! sources lives in one place.  Tests, fuzz targets and stress harnesses are found
//! by name: test/test_*.c, fuzz/fuzz_*.c, stress/stress_*.c.  Sources in
//! */support/ are linked into every program of their folder; a support file whose
//! name ends in _posix.c or _win32.c only on that platform.
//!
//! Steps needing Debian packages (Criterion, clang-14, qemu, wine) first run
//! ci/deps, which installs what is missing.

const std = @import("std");

const Variety = enum { cool, hot, rash };

const warning_flags = [_][]const u8{ "-std=c11", "-Wall", "-Wextra", "-pedantic", "-Werror" };

/// Build configurations the unit tests also run in (see the test step), and
/// the test files that test only what a configuration leaves out.
const BuildConfig = struct {
    name: []const u8,
    macro: []const u8,
    absent: []const []const u8,

    fn without(self: BuildConfig, test_name: []const u8) bool {
        for (self.absent) |a| if (std.mem.eql(u8, a, test_name)) return true;
        return false;
    }
};

const build_configs = [_]BuildConfig{
    // The operating system's threads, their signals and fork hooks.
    .{ .name = "single", .macro = "CONFIG_THREAD_SINGLE", .absent = &.{ "test_thread_signals", "test_fork" } },
    .{ .name = "noinc", .macro = "CONFIG_INCREMENTAL_NONE", .absent = &.{"test_incremental"} },
    .{ .name = "nobarrier", .macro = "CONFIG_BARRIER_NONE", .absent = &.{ "test_barrier", "test_incremental" } },
    // The C library alone: one thread, no protection, vm_ansi.c.
    .{ .name = "ansi", .macro = "CONFIG_PLATFORM_ANSI", .absent = &.{ "test_thread", "test_thread_signals", "test_fork", "test_barrier", "test_incremental", "test_prot" } },
};

/// The eight cross targets.  aarch64-linux uses musl so qemu-aarch64 runs the
/// harnesses without an aarch64 sysroot.
const cross_targets = [_][]const u8{
    "x86_64-linux-gnu",   "aarch64-linux-musl",
    "x86_64-windows-gnu", "aarch64-windows-gnu",
    "x86_64-freebsd",     "aarch64-freebsd",
    "x86_64-macos",       "aarch64-macos",
};

pub fn build(b: *std.Build) void {
    const target = b.standardTargetOptions(.{});
    const variety = b.option(Variety, "variety", "cool (all checks), hot (cheap checks, default), rash (none)") orelse .hot;
    const optimize_opt = b.option(std.builtin.OptimizeMode, "optimize", "override the optimization the variety implies");
    const fuzz_seconds = b.option(u32, "fuzz-seconds", "seconds to run each fuzz target (default 20)") orelse 20;

    // Library, headers and pkg-config file.
    const lib_static = addLib(b, target, variety, optimize_opt, .static);
    const lib_shared = addLib(b, target, variety, optimize_opt, .dynamic);
    b.installArtifact(lib_static);
    b.installArtifact(lib_shared);
    b.installDirectory(.{ .source_dir = b.path("include"), .install_dir = .header, .install_subdir = "" });
    const pc = b.addWriteFiles().add("mps11.pc",
        \\prefix=${pcfiledir}/../..
        \\libdir=${prefix}/lib
        \\includedir=${prefix}/include
        \\
        \\Name: mps11
        \\Description: Memory Pool System interface in C11: manual and garbage-collected pools
        \\Version: 0.1.0
        \\Libs: -L${libdir} -lmps11
        \\Libs.private: -lpthread
        \\Cflags: -I${includedir}
        \\
    );
    b.getInstallStep().dependOn(&b.addInstallFileWithDir(pc, .lib, "pkgconfig/mps11.pc").step);

    // Unit tests: every test/test_*.c against the library in each variety
    // (a test that needs a check rash lacks says so: test/support/checks.h).
    const test_step = b.step("test", "run the Criterion unit tests in the cool, hot and rash varieties, and in cool single-threaded, without increments, without the barrier and as for a platform with only the C library");
    const deps_test = ciDeps(b, "test");
    const tests = listSources(b, "test", "test_");
    for ([_]Variety{ .cool, .hot, .rash }) |v| {
        const lib = addLib(b, target, v, null, .static);
        for (tests) |name| {
            const mod = b.createModule(.{ .target = target, .optimize = varietyOptimize(v, null), .link_libc = true });
            mod.addCSourceFile(.{ .file = b.path(b.fmt("test/{s}.c", .{name})), .flags = &.{"-std=gnu11"} });
            addSupport(b, mod, "test/support", target);
            // Tests see the library's variety (CHECK_LEVEL) to know which checks exist.
            mod.addCMacro(varietyMacro(v), "1");
            mod.linkLibrary(lib);
            mod.linkSystemLibrary("criterion", .{});
            const exe = b.addExecutable(.{ .name = b.fmt("{s}-{s}", .{ name, @tagName(v) }), .root_module = mod });
            // Criterion finds its tests in a section nothing references, which
            // a release link would garbage-collect, leaving no tests to run.
            exe.link_gc_sections = false;
            exe.step.dependOn(deps_test);
            const run = b.addRunArtifact(exe);
            run.has_side_effects = true;
            test_step.dependOn(&run.step);
        }
    }
    // The library's build configurations that leave something out, each
    // with every test file that does not test only what it leaves out, in
    // cool: CONFIG_THREAD_SINGLE (one client thread: thread_single.c,
    // lock_single.c, no fork hooks), CONFIG_INCREMENTAL_NONE (every
    // collection runs to its end at once), CONFIG_BARRIER_NONE (no
    // protection, so no write or read barrier) and CONFIG_PLATFORM_ANSI
    // (the fallback for a platform with neither POSIX nor Windows).  A
    // test of something absent skips itself (tests see the configuration's
    // macro: test/support/configs.h).
    for (build_configs) |config| {
        const lib = addLibConfig(b, target, .cool, null, .static, config.macro);
        for (tests) |name| {
            if (config.without(name)) continue;
            const mod = b.createModule(.{ .target = target, .optimize = varietyOptimize(.cool, null), .link_libc = true });
            mod.addCSourceFile(.{ .file = b.path(b.fmt("test/{s}.c", .{name})), .flags = &.{"-std=gnu11"} });
            addSupport(b, mod, "test/support", target);
            mod.addCMacro(varietyMacro(.cool), "1");
            mod.addCMacro(config.macro, "1");
            mod.linkLibrary(lib);
            mod.linkSystemLibrary("criterion", .{});
            const exe = b.addExecutable(.{ .name = b.fmt("{s}-{s}", .{ name, config.name }), .root_module = mod });
            exe.link_gc_sections = false;
            exe.step.dependOn(deps_test);
            const run = b.addRunArtifact(exe);
            run.has_side_effects = true;
            test_step.dependOn(&run.step);
        }
    }
    // test_names once more against the shared library, where a client's
    // function named like one of the library's would be called in its
    // place rather than refused by the linker (src/base/names.h).
    {
        const mod = b.createModule(.{ .target = target, .optimize = varietyOptimize(variety, optimize_opt), .link_libc = true });
        mod.addCSourceFile(.{ .file = b.path("test/test_names.c"), .flags = &.{"-std=gnu11"} });
        mod.linkLibrary(lib_shared);
        mod.linkSystemLibrary("criterion", .{});
        const exe = b.addExecutable(.{ .name = "test_names-shared", .root_module = mod });
        exe.link_gc_sections = false;
        exe.step.dependOn(deps_test);
        const run = b.addRunArtifact(exe);
        run.has_side_effects = true;
        test_step.dependOn(&run.step);
    }
    // The shared library exports the interface and no internal name.
    {
        const run = b.addSystemCommand(&.{"bash"});
        run.addFileArg(b.path("ci/exports"));
        run.addArtifactArg(lib_shared);
        run.addArtifactArg(lib_static);
        run.has_side_effects = true;
        run.step.dependOn(deps_test);
        test_step.dependOn(&run.step);
    }

    // Stress harnesses, natively, in hot.
    const stress_step = b.step("stress", "build and run every stress harness");
    const stress_lib = addLib(b, target, .hot, null, .static);
    for (listSources(b, "stress", "stress_")) |name| {
        const exe = addHarness(b, name, target, stress_lib, .ReleaseFast);
        const run = b.addRunArtifact(exe);
        run.has_side_effects = true;
        stress_step.dependOn(&run.step);
    }

    // Cross-compilation: library and harnesses for every target; run what this
    // machine can run through an emulator.
    const cross_step = b.step("cross", "build for 8 targets; run harnesses under qemu-aarch64 and wine");
    const deps_cross = ciDeps(b, "cross");
    for (cross_targets) |triple| {
        const query = std.Target.Query.parse(.{ .arch_os_abi = triple }) catch @panic("bad cross triple");
        const t = b.resolveTargetQuery(query);
        const dir: std.Build.InstallDir = .{ .custom = b.fmt("cross/{s}", .{triple}) };
        const lib = addLib(b, t, .hot, .ReleaseSafe, .static);
        cross_step.dependOn(&b.addInstallArtifact(lib, .{ .dest_dir = .{ .override = dir } }).step);
        const emulator: ?[]const u8 = if (std.mem.eql(u8, triple, "aarch64-linux-musl"))
            "qemu-aarch64"
        else if (std.mem.eql(u8, triple, "x86_64-windows-gnu"))
            "wine"
        else
            null;
        // Every harness for the targets that run them (their support code is
        // either POSIX or Win32, so both kinds are compiled); the others link
        // one threaded harness, which pulls in the whole library object, so a
        // missing platform symbol still fails the step.
        for (listSources(b, "stress", "stress_")) |name| {
            if (emulator == null and !std.mem.eql(u8, name, "stress_gc")) continue;
            const exe = addHarness(b, name, t, lib, .ReleaseSafe);
            cross_step.dependOn(&b.addInstallArtifact(exe, .{ .dest_dir = .{ .override = dir } }).step);
            if (emulator) |emu| {
                const run = b.addSystemCommand(&.{emu});
                run.addArtifactArg(exe);
                run.setEnvironmentVariable("WINEDEBUG", "-all");
                run.has_side_effects = true;
                run.step.dependOn(deps_cross);
                cross_step.dependOn(&run.step);
            }
        }
    }

    // The single-file build, exactly as a user without a build system does it.
    const single_step = b.step("single", "compile src/mps.c alone with -Wall -Wextra -pedantic -Werror");
    for ([_]Variety{ .cool, .hot, .rash }) |v| {
        const obj_mod = b.createModule(.{ .target = target, .optimize = varietyOptimize(v, null), .link_libc = true });
        obj_mod.addCSourceFile(.{ .file = b.path("src/mps.c"), .flags = &warning_flags });
        obj_mod.addCMacro(varietyMacro(v), "1");
        const obj = b.addObject(.{ .name = b.fmt("mps-{s}", .{@tagName(v)}), .root_module = obj_mod });
        single_step.dependOn(&obj.step);
    }

    // Fuzzing and sanitizers use Debian's clang-14 (libFuzzer, ASan, UBSan, TSan
    // runtimes), driven by scripts so they can also be run without zig.
    const fuzz_step = b.step("fuzz", "run every libFuzzer target for -Dfuzz-seconds each (clang-14)");
    const fuzz_run = b.addSystemCommand(&.{"bash"});
    fuzz_run.addFileArg(b.path("ci/fuzz"));
    fuzz_run.addArgs(&.{ "--seconds", b.fmt("{d}", .{fuzz_seconds}) });
    fuzz_run.setCwd(b.path("."));
    fuzz_run.has_side_effects = true;
    fuzz_step.dependOn(&fuzz_run.step);

    const sanitize_step = b.step("sanitize", "unit tests and stress harnesses under ASan+UBSan and TSan (clang-14)");
    const sanitize_run = b.addSystemCommand(&.{"bash"});
    sanitize_run.addFileArg(b.path("ci/sanitize"));
    sanitize_run.setCwd(b.path("."));
    sanitize_run.has_side_effects = true;
    sanitize_step.dependOn(&sanitize_run.step);

    // Demo: the Scheme interpreter of examples/scheme/ (every object in AMC and
    // AMCZ) runs its bundled program and prints the collection statistics.
    const demo_step = b.step("demo", "run the Scheme demo program with collection statistics");
    const scheme_hot = addScheme(b, target, lib_static, "mps11-scheme");
    const demo_run = b.addRunArtifact(scheme_hot);
    demo_run.addArgs(&.{ "--stats", "examples/scheme/programs/demo.scm" });
    demo_run.setCwd(b.path("."));
    demo_run.has_side_effects = true;
    demo_step.dependOn(&demo_run.step);

    // The Scheme's test programs are part of `test`: against the library in
    // cool and in hot, with the default nursery and with a 64 KiB one so that
    // collections happen constantly.  Cool is optimized here (ReleaseSafe,
    // every check still on): unoptimized, its 2,500 collections of the
    // 64 KiB nursery took a minute of the test step, against 14 s.
    for ([_]Variety{ .cool, .hot }) |v| {
        const lib = addLib(b, target, v, if (v == .cool) .ReleaseSafe else null, .static);
        const exe = addScheme(b, target, lib, b.fmt("scheme-{s}", .{@tagName(v)}));
        for ([_][]const u8{ "--nursery=1024", "--nursery=64" }) |nursery| {
            const run = b.addSystemCommand(&.{"sh"});
            run.addFileArg(b.path("examples/scheme/run-tests.sh"));
            run.addArtifactArg(exe);
            run.addArg(nursery);
            run.has_side_effects = true;
            test_step.dependOn(&run.step);
        }
    }

    // The manual-pool example that came before the collector.
    const manual_step = b.step("demo-manual", "run the manual-pool example program");
    const manual_mod = b.createModule(.{ .target = target, .optimize = .ReleaseSafe, .link_libc = true });
    manual_mod.addCSourceFile(.{ .file = b.path("examples/demo.c"), .flags = &.{"-std=c11"} });
    manual_mod.linkLibrary(lib_static);
    const manual_exe = b.addExecutable(.{ .name = "mps11-demo", .root_module = manual_mod });
    const manual_run = b.addRunArtifact(manual_exe);
    manual_run.has_side_effects = true;
    manual_step.dependOn(&manual_run.step);

    // Benchmark: bench/run.sh builds bench/bench.c once per allocator (MPS
    // pools in hot, glibc, jemalloc, mimalloc) and prints one table.  A
    // step of its own: timings are never part of test, stress or install.
    const bench_step = b.step("bench", "manual-allocation benchmark: MPS pools against glibc, jemalloc, mimalloc");
    const bench_run = b.addSystemCommand(&.{"bash"});
    bench_run.addFileArg(b.path("bench/run.sh"));
    bench_run.setCwd(b.path("."));
    bench_run.has_side_effects = true;
    bench_step.dependOn(&bench_run.step);
}

fn varietyMacro(v: Variety) []const u8 {
    return switch (v) {
        .cool => "CONFIG_VAR_COOL",
        .hot => "CONFIG_VAR_HOT",
        .rash => "CONFIG_VAR_RASH",
    };
}

/// cool is a debugging build (and so also gets Zig's trapping UBSan); hot and
/// rash are optimized.
fn varietyOptimize(v: Variety, override: ?std.builtin.OptimizeMode) std.builtin.OptimizeMode {
    if (override) |o| return o;
    return switch (v) {
        .cool => .Debug,
        .hot, .rash => .ReleaseFast,
    };
}

/// The Scheme interpreter linked against `lib`.
/// The interpreter itself is always optimized: unoptimized, its evaluator's
/// frame is about 7 KiB and a few hundred levels of Scheme recursion would
/// fill the main thread's stack.  UBSan's full runtime is linked because a
/// checking library (Debug) is instrumented with it.
fn addScheme(b: *std.Build, target: std.Build.ResolvedTarget, lib: *std.Build.Step.Compile, name: []const u8) *std.Build.Step.Compile {
    const mod = b.createModule(.{ .target = target, .optimize = .ReleaseSafe, .sanitize_c = .full, .link_libc = true });
    const files = [_][]const u8{ "main.c", "read.c", "eval.c", "prims.c", "print.c", "heap.c" };
    for (files) |f| {
        mod.addCSourceFile(.{ .file = b.path(b.fmt("examples/scheme/{s}", .{f})), .flags = &warning_flags });
    }
    mod.linkLibrary(lib);
    mod.linkSystemLibrary("m", .{});
    return b.addExecutable(.{ .name = name, .root_module = mod });
}

fn addLib(
    b: *std.Build,
    target: std.Build.ResolvedTarget,
    v: Variety,
    optimize: ?std.builtin.OptimizeMode,
    linkage: std.builtin.LinkMode,
) *std.Build.Step.Compile {
    return addLibConfig(b, target, v, optimize, linkage, null);
}

/// addLib with a configuration macro (src/base/config.h) defined, if any.
fn addLibConfig(
    b: *std.Build,
    target: std.Build.ResolvedTarget,
    v: Variety,
    optimize: ?std.builtin.OptimizeMode,
    linkage: std.builtin.LinkMode,
    config_macro: ?[]const u8,
) *std.Build.Step.Compile {
    const mod = b.createModule(.{ .target = target, .optimize = varietyOptimize(v, optimize), .link_libc = true });
    // A shared library exports the interface only (src/base/config.h says
    // how; ci/exports checks it).
    const flags: []const []const u8 = if (linkage == .dynamic) &(warning_flags ++ .{"-fvisibility=hidden"}) else &warning_flags;
    mod.addCSourceFile(.{ .file = b.path("src/mps.c"), .flags = flags });
    mod.addCMacro(varietyMacro(v), "1");
    if (config_macro) |m| mod.addCMacro(m, "1");
    return b.addLibrary(.{ .name = "mps11", .root_module = mod, .linkage = linkage });
}

fn addHarness(
    b: *std.Build,
    name: []const u8,
    target: std.Build.ResolvedTarget,
    lib: *std.Build.Step.Compile,
    optimize: std.builtin.OptimizeMode,
) *std.Build.Step.Compile {
    const mod = b.createModule(.{ .target = target, .optimize = optimize, .link_libc = true });
    mod.addCSourceFile(.{ .file = b.path(b.fmt("stress/{s}.c", .{name})), .flags = &.{"-std=c11"} });
    addSupport(b, mod, "stress/support", target);
    mod.addCMacro(varietyMacro(.hot), "1");
    mod.linkLibrary(lib);
    return b.addExecutable(.{ .name = name, .root_module = mod });
}

/// Add every .c file of a support folder, choosing platform files by suffix.
fn addSupport(b: *std.Build, mod: *std.Build.Module, dir: []const u8, target: std.Build.ResolvedTarget) void {
    const windows = target.result.os.tag == .windows;
    for (listSources(b, dir, "")) |name| {
        if (std.mem.endsWith(u8, name, "_win32") and !windows) continue;
        if (std.mem.endsWith(u8, name, "_posix") and windows) continue;
        mod.addCSourceFile(.{ .file = b.path(b.fmt("{s}/{s}.c", .{ dir, name })), .flags = &.{"-std=gnu11"} });
    }
}

/// Stems of the .c files in `dir` whose names start with `prefix`, sorted so
/// the build graph does not depend on directory order.  A missing folder has
/// none.  The configure step is re-run when the folder's entries change.
fn listSources(b: *std.Build, dir: []const u8, prefix: []const u8) []const []const u8 {
    const io = b.graph.io;
    var names: std.ArrayList([]const u8) = .empty;
    var d = b.root.root_dir.handle.openDir(io, dir, .{ .iterate = true }) catch return &.{};
    defer d.close(io);
    b.dependOnDirectoryContents(b.path(dir));
    var it = d.iterate();
    while (it.next(io) catch @panic("cannot list a source folder")) |entry| {
        if (entry.kind != .file) continue;
        if (!std.mem.startsWith(u8, entry.name, prefix) or !std.mem.endsWith(u8, entry.name, ".c")) continue;
        names.append(b.allocator, b.dupe(entry.name[0 .. entry.name.len - 2])) catch @panic("OOM");
    }
    std.mem.sort([]const u8, names.items, {}, struct {
        fn lessThan(_: void, a: []const u8, c: []const u8) bool {
            return std.mem.lessThan(u8, a, c);
        }
    }.lessThan);
    return names.items;
}

/// A step that runs `ci/deps group` (installing missing Debian packages).
fn ciDeps(b: *std.Build, group: []const u8) *std.Build.Step {
    const run = b.addSystemCommand(&.{"bash"});
    run.addFileArg(b.path("ci/deps"));
    run.addArg(group);
    run.has_side_effects = true;
    return &run.step;
}
