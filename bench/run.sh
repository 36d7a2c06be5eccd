#!/usr/bin/env bash
# bench/run.sh: build and run the manual-allocation benchmark (bench/bench.c)
# on every allocator, each in its own process, and print one table.
#
#   bash bench/run.sh [--runs N] [--steps N] [--seed N] [--only "a b ..."] [--no-gc]
#
# --no-gc skips the garbage-collection workloads (bench/gc/run.sh) that
# otherwise follow the table.
# Allocators: mvff-ap mvff-alloc mvff-sac mvt mfs glibc jemalloc mimalloc, and
# ap-floor (bench/ap_floor.c: the allocation-point protocol with mimalloc
# as the pool, the least any pool behind the protocol can cost).  The MPS
# variants link src/mps.c compiled in the hot variety at -O2; everything is
# compiled with $CC (default cc) -O2.  Runs are interleaved (one round over
# every allocator, N rounds) so that a noisy neighbour slows all of them
# alike; the table shows the best wall time of the N runs and the largest
# peak RSS (ru_maxrss of the process), each with its ratio to mimalloc.
# Every run must print the same checksum, or the script fails.
set -euo pipefail
cd "$(dirname "$0")/.."

runs=${BENCH_RUNS:-3}
steps=${BENCH_STEPS:-2000000}
seed=${BENCH_SEED:-20240611}
only="mvff-ap mvff-alloc mvff-sac mvt mfs glibc jemalloc mimalloc ap-floor"
gc=1
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs=$2; shift 2 ;;
    --steps) steps=$2; shift 2 ;;
    --seed) seed=$2; shift 2 ;;
    --only) only=$2; shift 2 ;;
    --no-gc) gc=0; shift ;;
    *) echo "usage: bench/run.sh [--runs N] [--steps N] [--seed N] [--only \"names\"] [--no-gc]" >&2; exit 2 ;;
  esac
done

bash ci/deps bench

cc=${CC:-cc}
out=${BENCH_OUT:-zig-out/bench}
mkdir -p "$out"
flags="-std=c11 -O2 -Wall -Wextra -pedantic"
echo "building in $out with $cc -O2 (MPS: src/mps.c -DCONFIG_VAR_HOT)"
$cc $flags -DCONFIG_VAR_HOT -c src/mps.c -o "$out/mps-hot.o"
for a in $only; do
  case "$a" in
    mvff-ap)    def=MVFF_AP;    libs="$out/mps-hot.o -lpthread" ;;
    mvff-alloc) def=MVFF_ALLOC; libs="$out/mps-hot.o -lpthread" ;;
    mvff-sac)   def=MVFF_SAC;   libs="$out/mps-hot.o -lpthread" ;;
    mvt)        def=MVT;        libs="$out/mps-hot.o -lpthread" ;;
    mfs)        def=MFS;        libs="$out/mps-hot.o -lpthread" ;;
    glibc)      def=GLIBC;      libs="" ;;
    jemalloc)   def=JEMALLOC;   libs="-ljemalloc" ;;
    mimalloc)   def=MIMALLOC;   libs="-lmimalloc" ;;
    ap-floor)   def=AP_FLOOR;   libs="$out/ap-floor.o -lmimalloc"
                $cc $flags -c bench/ap_floor.c -o "$out/ap-floor.o" ;;
    *) echo "bench/run.sh: unknown allocator '$a'" >&2; exit 2 ;;
  esac
  # shellcheck disable=SC2086  # $libs is a list of words
  $cc $flags -DBENCH_$def bench/bench.c $libs -o "$out/bench-$a"
done

echo "machine: $(nproc) CPUs, $(lscpu | sed -n 's/^Model name: *//p' | head -1)," \
     "$(free -g | awk '/^Mem:/ {print $2}') GiB"
echo "workload: seed $seed, $steps steps; best of $runs runs"

results=$(mktemp)
trap 'rm -f "$results"' EXIT
for ((r = 1; r <= runs; ++r)); do
  for a in $only; do
    line=$("$out/bench-$a" "$seed" "$steps" 2>/dev/null | grep '^result ')
    echo "  run $r: $line"
    echo "$line" >>"$results"
  done
done

# One row per allocator: best seconds, largest peak.  Ratios are to
# mimalloc when it ran, else to the first allocator listed.
awk -v order="$only" '
  function field(name,   i, kv) {
    for (i = 2; i <= NF; ++i) { split($i, kv, "="); if (kv[1] == name) return kv[2] }
    return ""
  }
  {
    n = field("name"); s = field("seconds") + 0; k = field("peak_kib") + 0
    if (!(n in best) || s < best[n]) best[n] = s
    if (k > peak[n]) peak[n] = k
    sum[n] = field("checksum"); live = field("live_peak_kib"); nallocs = field("allocs")
    if (checksum == "") checksum = sum[n]
    if (sum[n] != checksum) bad = bad " " n
  }
  END {
    split(order, names, " ")
    ref = ("mimalloc" in best) ? "mimalloc" : ""
    printf "\n%-11s %10s %9s %14s %9s\n", "allocator", "seconds", "time/mi", "peak RSS MiB", "peak/mi"
    for (i = 1; i in names; ++i) {
      a = names[i]; n = (a == "mfs") ? "mfs+mvff" : a
      if (!(n in best)) continue
      if (ref == "") ref = n
      printf "%-11s %10.3f %9.2f %14.1f %9.2f\n", n, best[n], best[n] / best[ref],
             peak[n] / 1024, peak[n] / peak[ref]
    }
    printf "\nreference: %s; %s allocations; live data at its peak %.1f MiB; checksum %s\n",
           ref, nallocs, live / 1024, checksum
    if (bad != "") { printf "CHECKSUM MISMATCH:%s\n", bad; exit 1 }
  }' "$results"
[ "$gc" = 0 ] || bash bench/gc/run.sh --runs "$runs"   # then the garbage-collection workloads (bench/gc/): AMC, AMS, Boehm
