#!/usr/bin/env bash
# bench/gc/run.sh: build and run the garbage-collection benchmark
# (bench/gc/gcb.c: binary trees, a mutation-heavy table, and a large
# long-lived structure beside short-lived temporaries) on every collector,
# each run in its own process, and print one table per workload.
#
#   bash bench/gc/run.sh [--runs N] [--depth N] [--steps N] [--mib N]
#                        [--only "amc amcnb amcstw ams boehm"]
#
# Collectors: amc and ams (src/mps.c compiled in the hot variety at -O2,
# through an allocation point, exact roots and the thread's stack as an
# ambiguous root), amcnb (amc built with -DCONFIG_BARRIER_NONE: no write
# barrier, so every minor collection scans every older segment), amcstw
# (amc built with -DCONFIG_INCREMENTAL_NONE: every collection stops the
# world from start to end) and boehm
# (Debian's libgc, GC_MALLOC).  Everything is
# compiled with $CC (default cc) -O2.  Runs are interleaved (one round over
# every collector and workload, N rounds); the table shows the best wall
# time and the largest peak RSS (ru_maxrss) of the N runs, each with its
# ratio to Boehm, and the longest pause of any run (gcb.c says how it is
# measured; trees has none).  Every run of a workload must print the same checksum,
# or the script fails.  A run taking longer than GCB_TIMEOUT seconds
# (default 60) is stopped and its row says so.
set -euo pipefail
cd "$(dirname "$0")/../.."

runs=${GCB_RUNS:-3}
limit=${GCB_TIMEOUT:-60}
depth=${GCB_DEPTH:-16}
steps=${GCB_STEPS:-4000000}
mib=${GCB_MIB:-64}
only="amc amcnb amcstw ams boehm"
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs=$2; shift 2 ;;
    --depth) depth=$2; shift 2 ;;
    --steps) steps=$2; shift 2 ;;
    --mib) mib=$2; shift 2 ;;
    --only) only=$2; shift 2 ;;
    *) echo "usage: bench/gc/run.sh [--runs N] [--depth N] [--steps N] [--mib N] [--only \"names\"]" >&2; exit 2 ;;
  esac
done

bash ci/deps bench

cc=${CC:-cc}
out=${BENCH_OUT:-zig-out/bench}/gc
mkdir -p "$out"
flags="-std=c11 -O2 -Wall -Wextra -pedantic"
echo "building in $out with $cc -O2 (MPS: src/mps.c -DCONFIG_VAR_HOT)"
case " $only " in
  *" amc "*|*" ams "*) $cc $flags -DCONFIG_VAR_HOT -c src/mps.c -o "$out/mps-hot.o" ;;
esac
case " $only " in
  *" amcnb "*) $cc $flags -DCONFIG_VAR_HOT -DCONFIG_BARRIER_NONE -c src/mps.c -o "$out/mps-hot-nb.o" ;;
esac
case " $only " in
  *" amcstw "*) $cc $flags -DCONFIG_VAR_HOT -DCONFIG_INCREMENTAL_NONE -c src/mps.c -o "$out/mps-hot-stw.o" ;;
esac
for c in $only; do
  case "$c" in
    amc)   def=AMC;   libs="$out/mps-hot.o -lpthread" ;;
    amcnb) def=AMC;   libs="$out/mps-hot-nb.o -lpthread" ;;
    amcstw) def=AMC;  libs="$out/mps-hot-stw.o -lpthread" ;;
    ams)   def=AMS;   libs="$out/mps-hot.o -lpthread" ;;
    boehm) def=BOEHM; libs="-lgc" ;;
    *) echo "bench/gc/run.sh: unknown collector '$c'" >&2; exit 2 ;;
  esac
  case "$c" in amcnb|amcstw) name=-DGCB_NAME=\"$c\" ;; *) name="" ;; esac
  # shellcheck disable=SC2086  # $libs is a list of words
  $cc $flags -DGCB_$def $name bench/gc/gcb.c $libs -o "$out/gcb-$c"
done

echo "machine: $(nproc) CPUs, $(lscpu | sed -n 's/^Model name: *//p' | head -1)," \
     "$(free -g | awk '/^Mem:/ {print $2}') GiB"
echo "workloads: trees depth $depth; mutate $steps steps; retain $mib MiB; best of $runs runs"

results=$(mktemp)
trap 'rm -f "$results"' EXIT
for ((r = 1; r <= runs; ++r)); do
  for w in trees mutate retain; do
    arg=$depth; [ "$w" = mutate ] && arg=$steps; [ "$w" = retain ] && arg=$mib
    for c in $only; do
      if grep -q "^timeout name=$w-$c\$" "$results"; then
        continue   # timed out in an earlier round: not run again
      fi
      status=0
      text=$(timeout "$limit" "$out/gcb-$c" "$w" "$arg" 2>&1) || status=$?
      if [ "$status" = 124 ]; then
        echo "  run $r: $w-$c stopped after ${limit}s"
        echo "timeout name=$w-$c" >>"$results"
        continue
      fi
      if [ "$status" != 0 ] || ! line=$(echo "$text" | grep '^result '); then
        echo "  run $r: $w-$c FAILED" >&2
        echo "$text" | tail -5 >&2
        exit 1
      fi
      echo "  run $r: $line"
      echo "$line" >>"$results"
    done
  done
done

# One row per workload and collector: best seconds, largest peak, ratios
# to Boehm when it ran (else to the first collector listed).
awk -v order="$only" '
  function field(name,   i, kv) {
    for (i = 2; i <= NF; ++i) { split($i, kv, "="); if (kv[1] == name) return kv[2] }
    return ""
  }
  $1 == "timeout" { slow[field("name")] = 1; next }
  {
    n = field("name"); s = field("seconds") + 0; k = field("peak_kib") + 0
    if (!(n in best) || s < best[n]) best[n] = s
    if (k > peak[n]) peak[n] = k
    coll[n] = field("collections")
    p = field("max_pause_ms") + 0
    if (!(n in pause) || p > pause[n]) pause[n] = p
    split(n, wc, "-"); w = wc[1]
    if (!(w in checksum)) checksum[w] = field("checksum")
    if (field("checksum") != checksum[w]) bad = bad " " n
  }
  END {
    split(order, names, " ")
    ref = "boehm"
    found = 0
    for (i = 1; i in names; ++i) if (names[i] == "boehm") found = 1
    if (!found) ref = names[1]
    split("trees mutate retain", works, " ")
    for (wi = 1; wi <= 3; ++wi) {
      w = works[wi]
      printf "\n%-8s %-7s %9s %9s %13s %9s %12s %14s\n", "workload", "gc", "seconds", "time/bo",
             "peak RSS MiB", "peak/bo", "collections", "max pause ms"
      for (i = 1; i in names; ++i) {
        n = w "-" names[i]; r = w "-" ref
        if (n in slow) {
          printf "%-8s %-7s %9s   (stopped after the time limit)\n", w, names[i], "timeout"
          continue
        }
        if (!(n in best)) continue
        printf "%-8s %-7s %9.3f %9.2f %13.1f %9.2f %12s %14s\n", w, names[i], best[n],
               best[n] / best[r], peak[n] / 1024, peak[n] / peak[r], coll[n],
               w == "trees" ? "-" : sprintf("%.2f", pause[n])
      }
      printf "checksum %s\n", checksum[w]
    }
    if (bad != "") { printf "CHECKSUM MISMATCH:%s\n", bad; exit 1 }
  }' "$results"
