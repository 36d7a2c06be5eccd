#!/bin/sh
# run-tests.sh: run every program in programs/ that has an expected
# output (NAME.out next to NAME.scm) and compare.
#
#   examples/scheme/run-tests.sh CMD [ARG...]
#
# CMD [ARG...] NAME.scm is run with stderr merged into stdout (the
# interpreter flushes stdout before each error message, so the order is
# fixed); a last line "[exit N]" records the exit status.  The result
# must equal NAME.out exactly.  Extra arguments go to the interpreter,
# e.g. --nursery=64 to collect constantly.  Programs run in the
# programs directory, so they can open files next to them by relative
# name.  Exits 1 if any program differs.
set -u
if [ $# -lt 1 ]; then
  echo "usage: $0 CMD [ARG...]" >&2
  exit 2
fi
dir=$(cd "$(dirname "$0")" && pwd)
# A relative command path must survive the change of directory.
cmd=$1
shift
case $cmd in
  /*) ;;
  */*) cmd=$(pwd)/$cmd ;;
esac
cd "$dir/programs" || exit 2
tmp=${TMPDIR:-/tmp}/scheme-tests.$$
trap 'rm -f "$tmp"' EXIT INT TERM
pass=0
fail=0
for prog in "$dir"/programs/*.scm; do
  expected=${prog%.scm}.out
  [ -f "$expected" ] || continue
  name=$(basename "$prog" .scm)
  "$cmd" "$@" "$prog" >"$tmp" 2>&1
  echo "[exit $?]" >>"$tmp"
  if diff -u "$expected" "$tmp" >/dev/null 2>&1; then
    echo "PASS $name"
    pass=$((pass + 1))
  else
    echo "FAIL $name"
    diff -u "$expected" "$tmp" | head -40
    fail=$((fail + 1))
  fi
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
