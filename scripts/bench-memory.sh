#!/usr/bin/env bash
# Peak resident memory of long simulated runs (issue 17: memory bounded by the lab, not by
# simulated time). Runs, with the release build, each once (peak memory is not noisy the way
# time is), and prints maximum resident set size, wall time and the target:
#   - `lmlab run assets/scenarios/resiliency-lab.toml --until 30d` (and --until 3h beside it:
#     the two should be about the same, since nothing happens after the story ends);
#   - 24 simulated hours of the benchmarks' 64-node / 8,000-VM lab with a drain and a service
#     crash every hour (engine/examples/scale_lab.rs), and 1 hour of it beside.
#   - the 30-day run again writing its JSON report and CSV series (written as they are made).
# Needs GNU time (/usr/bin/time; Debian package `time`). Usage: scripts/bench-memory.sh
set -euo pipefail
cd "$(dirname "$0")/.."
TARGET="${CARGO_TARGET_DIR:-target}"
if [ ! -x /usr/bin/time ]; then
  echo "installing GNU time…" >&2
  if [ "$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time >/dev/null
  else sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time >/dev/null; fi
fi
cargo build --release -p lmlab --locked -q
cargo build --release -p lmlab-engine --example scale_lab --locked -q
LMLAB="$TARGET/release/lmlab"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
"$TARGET/release/examples/scale_lab" > "$TMP/scale-lab.toml"

measure() { # label, target MB, command…
  local label="$1" target="$2"; shift 2
  /usr/bin/time -f "%M %e" -o "$TMP/t" "$@" > /dev/null 2> "$TMP/err" || { cat "$TMP/err" >&2; exit 1; }
  read -r kib secs < "$TMP/t"
  printf '%-58s %8.1f MB %8.1f s   target < %s MB\n' "$label" "$(awk "BEGIN { print $kib / 1024 }")" "$secs" "$target"
}
printf '%-58s %11s %10s\n' "run" "max RSS" "wall"
measure "resiliency-lab --until 3h" 300 "$LMLAB" run assets/scenarios/resiliency-lab.toml --until 3h
measure "resiliency-lab --until 30d" 300 "$LMLAB" run assets/scenarios/resiliency-lab.toml --until 30d
measure "resiliency-lab --until 30d --json --csv" 300 \
  "$LMLAB" run assets/scenarios/resiliency-lab.toml --until 30d --json "$TMP/r.json" --csv "$TMP/csv"
ls -l "$TMP/r.json" "$TMP/csv/series.csv" | awk '{printf "  (%s: %.0f MB)\n", $NF, $5/1e6}'
measure "64 nodes, 8,000 VMs, 1 h" 300 "$LMLAB" run "$TMP/scale-lab.toml" --until 1h
measure "64 nodes, 8,000 VMs, 24 h (a drain and a crash every hour)" 300 "$LMLAB" run "$TMP/scale-lab.toml" --until 24h
