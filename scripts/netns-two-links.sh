#!/usr/bin/env bash
# Optional, Linux, root: a real two-link lab on one machine. Builds two network namespaces joined
# by two veth pairs, shapes each link to 1 Gbit/s with tc (tbf), runs `lmlab agent` in one
# namespace and `lmlab real` in the other, and prints
#   - 1 channel bound to one link, and
#   - 4 channels spread over both links (bound to both local addresses, to both agent addresses),
# next to the model's prediction for the same lab (assets/scenarios/two-1gbe-netns.toml:
# TCP/IP on one 1 GbE NIC vs SMB Multichannel over two). Cleans up on exit.
# Usage: sudo scripts/netns-two-links.sh   (MEMORY=512MiB RATE=1gbit to change)
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "run as root (network namespaces and tc need it)" >&2; exit 1; }
command -v ip >/dev/null && command -v tc >/dev/null || { echo "needs iproute2 (ip, tc)" >&2; exit 1; }
MEMORY="${MEMORY:-512MiB}"
RATE="${RATE:-1gbit}"
SCENARIO=assets/scenarios/two-1gbe-netns.toml
cargo build --release -p lmlab --locked -q
LMLAB="$PWD/target/release/lmlab"
SRC=lmlab-src; DST=lmlab-dst
export LMLAB_SECRET="netns-demo-$(date +%s)-$RANDOM"
TMP="$(mktemp -d)"

teardown() {
  [ -n "${AGENT:-}" ] && kill "$AGENT" 2>/dev/null || true
  ip netns del "$SRC" 2>/dev/null || true
  ip netns del "$DST" 2>/dev/null || true
}
trap 'teardown; rm -rf "$TMP"' EXIT
teardown

ip netns add "$SRC"; ip netns add "$DST"
for i in 1 2; do
  ip link add "lm-s$i" type veth peer name "lm-d$i"
  ip link set "lm-s$i" netns "$SRC"; ip link set "lm-d$i" netns "$DST"
  ip -n "$SRC" addr add "10.71.$i.1/24" dev "lm-s$i"; ip -n "$DST" addr add "10.71.$i.2/24" dev "lm-d$i"
  ip -n "$SRC" link set "lm-s$i" up; ip -n "$DST" link set "lm-d$i" up
  # Shape both directions of each link to RATE (a token bucket, like a 1 GbE port).
  ip netns exec "$SRC" tc qdisc add dev "lm-s$i" root tbf rate "$RATE" burst 256kb latency 20ms
  ip netns exec "$DST" tc qdisc add dev "lm-d$i" root tbf rate "$RATE" burst 256kb latency 20ms
done
ip -n "$SRC" link set lo up; ip -n "$DST" link set lo up

ip netns exec "$DST" "$LMLAB" agent --listen 0.0.0.0:7400 --max-memory 4GiB 2>"$TMP/agent.log" &
AGENT=$!
sleep 1

run() { # name, extra args...
  local name=$1; shift
  ip netns exec "$SRC" "$LMLAB" real --memory "$MEMORY" --profile random --dirty 8MiB/s \
    --working-set 128MiB --json "$TMP/$name.json" "$@" >/dev/null 2>"$TMP/$name.err" \
    || { cat "$TMP/$name.err" "$TMP/agent.log" >&2; exit 1; }
}
run one-link --channels 1 --bind 10.71.1.1 --to 10.71.1.2:7400
run two-links --channels 4 --bind 10.71.1.1,10.71.2.1 --to 10.71.1.2:7400,10.71.2.2:7400
"$LMLAB" compare "$SCENARIO" --json "$TMP/model.json" >/dev/null

python3 - "$TMP" <<'PY'
import json, sys, os
d = sys.argv[1]
model = {r["id"]: r for r in json.load(open(os.path.join(d, "model.json")))["rows"]}
print(f'{"setup":<34} {"measured Gbit/s":>16} {"model Gbit/s":>13} {"error":>8} {"passes":>7} {"pause ms":>9}  verified')
for name, label in [("one-link", "1 channel, one 1 Gbit/s link"), ("two-links", "4 channels over both links")]:
    r = json.load(open(os.path.join(d, name + ".json")))
    m = model[name]["throughput_gbps"]
    err = 100 * (r["avg_gbps"] - m) / m
    print(f'{label:<34} {r["avg_gbps"]:>16.3f} {m:>13.3f} {err:>+7.1f}% {r["passes"]:>7} {r["downtime_ms"]:>9.1f}  {r["verified"]}')
    print(f'{"":<34} per channel: ' + ", ".join(f'{sum(s["channel_gbps"][i] for s in r["series"]) / max(1, sum(1 for s in r["series"] if s["total_gbps"] > 0)):.2f}' for i in range(r["channels"])) + " Gbit/s (mean while moving)")
PY
