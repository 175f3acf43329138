#!/usr/bin/env bash
# Loopback benchmark of the real transport against iperf3, in one run:
#   - lmlab without compression (random content: every byte crosses the wire) vs iperf3 at the
#     same stream count (1 and 4), throughput ratio and CPU seconds per GiB for both;
#   - beside them the ceiling for any memory-to-memory transfer on this host (the tcp_ceiling
#     example: the same image size moved by plain TCP writes into a committed buffer, nothing else).
#     iperf3 resends one buffer that stays in the CPU cache; a migration cannot;
#   - lmlab with lz4 on the default content profile (mixed): effective guest-memory throughput;
#   - the cost of --encrypt (AES-256-GCM on every connection): random content without
#     compression, the same run with and without it, interleaved.
# Medians of RUNS runs (default 3). Installs iperf3 if missing. Usage: scripts/bench-real.sh
# (ONLY_ENCRYPT=1: just the encryption comparison; builds go to $CARGO_TARGET_DIR if set).
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS="${RUNS:-3}"
MEMORY="${MEMORY:-4GiB}"
PORT="${PORT:-5299}"

ONLY_ENCRYPT="${ONLY_ENCRYPT:-0}"
TARGET="${CARGO_TARGET_DIR:-target}"
if [ "$ONLY_ENCRYPT" != 1 ] && ! command -v iperf3 >/dev/null; then
  echo "installing iperf3…" >&2
  if [ "$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iperf3 >/dev/null
  else sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iperf3 >/dev/null; fi
fi
cargo build --release -p lmlab --locked -q
[ "$ONLY_ENCRYPT" = 1 ] || cargo build --release -p lmlab-real --example tcp_ceiling --locked -q
LMLAB="$TARGET/release/lmlab"
CEILING="$TARGET/release/examples/tcp_ceiling"
TMP="$(mktemp -d)"
trap 'kill "$(cat "$TMP/iperf3.pid" 2>/dev/null)" 2>/dev/null || true; rm -rf "$TMP"' EXIT

iperf_once() { # streams -> "gbps cpu_s_per_gib"
  iperf3 -s -p "$PORT" -1 >/dev/null 2>&1 &
  local spid=$!
  sleep 0.3
  iperf3 -c 127.0.0.1 -p "$PORT" -P "$1" -t 4 -J > "$TMP/iperf.json"
  wait $spid 2>/dev/null || true
  python3 - "$TMP/iperf.json" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
e = j["end"]; r = e["sum_received"]; c = e["cpu_utilization_percent"]
secs = r["seconds"]; gib = r["bytes"] / 2**30
# iperf3 reports each process's CPU as a percentage of one core over the test.
cpu_s = (c["host_total"] + c["remote_total"]) / 100 * secs
print(f'{r["bits_per_second"]/1e9:.3f} {cpu_s/gib:.3f}')
PY
}

lmlab_once() { # channels codec profile [extra args] -> "avg_gbps wire_gbps cpu_s_per_gib verified"
  "$LMLAB" real --memory "$MEMORY" --channels "$1" --compress "$2" --profile "$3" "${@:4}" --json - > "$TMP/real.json"
  python3 - "$TMP/real.json" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
print(f'{j["avg_gbps"]:.3f} {j["wire_gbps"]:.3f} {j["cpu_src_s_per_gib"] + j["cpu_dst_s_per_gib"]:.3f} {j["verified"]}')
PY
}

median() { python3 -c 'import sys,statistics; print(f"{statistics.median(float(x) for x in sys.argv[1:]):.3f}")' "$@"; }

if [ "$ONLY_ENCRYPT" != 1 ]; then
echo "loopback, $RUNS runs each (interleaved), medians; lmlab and the ceiling move a $MEMORY image"
echo "Gbit/s, then CPU seconds per GiB (both ends)"
printf '%-8s %8s %8s %8s %9s %9s %7s %7s %7s\n' streams lmlab ceiling iperf3 vs_iperf3 vs_ceil cpu_lm cpu_cei cpu_ip3
for n in 1 4; do
  lg=(); lc=(); ig=(); ic=(); cg=(); cc=()
  for _ in $(seq "$RUNS"); do
    read -r g w c v < <(lmlab_once "$n" none random)
    [ "$v" = True ] || { echo "lmlab run not verified" >&2; exit 1; }
    lg+=("$w"); lc+=("$c")
    read -r g c < <("$CEILING" "$MEMORY" "$n")
    cg+=("$g"); cc+=("$c")
    read -r g c < <(iperf_once "$n")
    ig+=("$g"); ic+=("$c")
  done
  mlg=$(median "${lg[@]}"); mig=$(median "${ig[@]}"); mcg=$(median "${cg[@]}")
  r1=$(python3 -c "print(f'{$mlg/$mig:.2f}')"); r2=$(python3 -c "print(f'{$mlg/$mcg:.2f}')")
  printf '%-8s %8s %8s %8s %9s %9s %7s %7s %7s\n' "$n" "$mlg" "$mcg" "$mig" "${r1}x" "${r2}x" \
    "$(median "${lc[@]}")" "$(median "${cc[@]}")" "$(median "${ic[@]}")"
done
echo
echo "default (mixed) content profile: effective guest-memory throughput (zero pages elided)"
printf '%-10s %-8s %12s %12s %14s\n' channels codec guest_gbps wire_gbps cpu_s/GiB
for codec in none lz4; do
for n in 1 4; do
  gg=(); ww=(); cc=()
  for _ in $(seq "$RUNS"); do
    read -r g w c v < <(lmlab_once "$n" "$codec" mixed)
    [ "$v" = True ] || { echo "lmlab run not verified" >&2; exit 1; }
    gg+=("$g"); ww+=("$w"); cc+=("$c")
  done
  printf '%-10s %-8s %12s %12s %14s\n' "$n" "$codec" "$(median "${gg[@]}")" "$(median "${ww[@]}")" "$(median "${cc[@]}")"
done
done
fi

echo
echo "--encrypt (AES-256-GCM on every connection): random content, no compression, guest Gbit/s"
printf '%-10s %12s %12s %10s %14s %14s\n' channels plain encrypted ratio cpu_plain cpu_encrypted
for n in 1 4; do
  pg=(); eg=(); pc=(); ec=()
  for _ in $(seq "$RUNS"); do
    read -r g w c v < <(lmlab_once "$n" none random)
    [ "$v" = True ] || { echo "lmlab run not verified" >&2; exit 1; }
    pg+=("$g"); pc+=("$c")
    read -r g w c v < <(lmlab_once "$n" none random --encrypt)
    [ "$v" = True ] || { echo "lmlab encrypted run not verified" >&2; exit 1; }
    eg+=("$g"); ec+=("$c")
  done
  mp=$(median "${pg[@]}"); me=$(median "${eg[@]}")
  printf '%-10s %12s %12s %9sx %14s %14s\n' "$n" "$mp" "$me" "$(python3 -c "print(f'{$me/$mp:.2f}')")" \
    "$(median "${pc[@]}")" "$(median "${ec[@]}")"
done
