#!/usr/bin/env bash
# Usage: scripts/same-output.sh OLD_BIN NEW_BIN
#
# Runs `lmlab run --json -`, `lmlab compare --json -` and `lmlab export` on every preset in
# assets/scenarios with both binaries and diffs what they print and write (standard output, exit
# code, every exported file byte for byte). Prints one line per check and exits non-zero if any
# output differs. Used to show that a refactor leaves every output unchanged.
set -uo pipefail
if [ $# -ne 2 ]; then
  echo "usage: $0 OLD_BIN NEW_BIN" >&2
  exit 2
fi
old=$(realpath "$1")
new=$(realpath "$2")
for b in "$old" "$new"; do
  [ -x "$b" ] || { echo "$b: not an executable" >&2; exit 2; }
done
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
differ=0
checks=0

# Runs one command with both binaries; compares stdout and exit code.
same() {
  local label=$1
  shift
  "$old" "$@" >"$work/old.out" 2>/dev/null
  local rc_old=$?
  "$new" "$@" >"$work/new.out" 2>/dev/null
  local rc_new=$?
  checks=$((checks + 1))
  if [ "$rc_old" != "$rc_new" ] || ! cmp -s "$work/old.out" "$work/new.out"; then
    echo "DIFFERS  $label (exit $rc_old vs $rc_new)"
    diff "$work/old.out" "$work/new.out" | head -5
    differ=1
  else
    echo "same     $label (exit $rc_old, $(wc -c <"$work/old.out") bytes)"
  fi
}

# Runs `export` with both binaries into two folders and compares every file.
same_export() {
  local label=$1
  shift
  rm -rf "$work/old-export" "$work/new-export"
  "$old" export "$@" --out "$work/old-export" >/dev/null 2>&1
  local rc_old=$?
  "$new" export "$@" --out "$work/new-export" >/dev/null 2>&1
  local rc_new=$?
  checks=$((checks + 1))
  if [ "$rc_old" != "$rc_new" ] || ! diff -r -q "$work/old-export" "$work/new-export" >/dev/null 2>&1; then
    echo "DIFFERS  $label (exit $rc_old vs $rc_new)"
    diff -r -q "$work/old-export" "$work/new-export" 2>&1 | head -5
    differ=1
  else
    echo "same     $label (exit $rc_old, $(ls "$work/old-export" 2>/dev/null | wc -l) files)"
  fi
}

for f in assets/scenarios/*.toml; do
  name=$(basename "$f" .toml)
  same "run $name" run "$f" --json -
  same "compare $name" compare "$f" --json -
  same_export "export $name" "$f"
done
# A long run with many faults, as in the export issue.
same "run resiliency-lab --until 3h" run assets/scenarios/resiliency-lab.toml --until 3h --json -
same_export "export resiliency-lab --until 3h" assets/scenarios/resiliency-lab.toml --until 3h

if [ "$differ" = 0 ]; then
  echo "all $checks outputs identical"
else
  echo "some outputs differ"
fi
exit "$differ"
