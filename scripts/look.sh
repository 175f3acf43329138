#!/usr/bin/env bash
# Usage: scripts/look.sh [OUT_DIR] [LMLAB_BIN]
#
# Renders every preset as its audience sees it: at 1280x720 (a projector) and 1920x1080, normal and
# in presentation mode, at a few telling times, plus the Compare view; all PNGs into one folder
# (default /tmp/lmlab-look). Open every picture before you stop. Needs a display: run under
# xvfb-run when there is none (apt-get install xvfb).
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-/tmp/lmlab-look}
bin=${2:-}
if [ -z "$bin" ]; then
  cargo build --release --locked -q
  bin=target/release/lmlab
fi
mkdir -p "$out"
run() {
  if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then "$@"; else xvfb-run -a -s "-screen 0 1920x1080x24" "$@"; fi
}
# Times that tell each lab's story (the first migration or fault happens after 10 s).
times_for() {
  case "$1" in
    resiliency-lab) echo "75s 10m 40m" ;;
    backup-night) echo "1h31m 2h6m 2h45m" ;;
    *) echo "0s 15s 40s" ;;
  esac
}
n=0
for f in assets/scenarios/*.toml; do
  name=$(basename "$f" .toml)
  for at in $(times_for "$name"); do
    for size in 1280x720 1920x1080; do
      for mode in normal presentation; do
        flag=()
        [ "$mode" = presentation ] && flag=(--presentation)
        png="$out/$name-$at-$size-$mode.png"
        run "$bin" screenshot "$f" --out "$png" --at "$at" --size "$size" "${flag[@]}" >/dev/null 2>&1 \
          || { echo "failed: $png" >&2; continue; }
        n=$((n + 1))
      done
    done
  done
  if grep -q '^\[\[configurations\]\]' "$f"; then
    run "$bin" screenshot "$f" --out "$out/$name-compare-1920x1080.png" --view compare --size 1920x1080 >/dev/null 2>&1 && n=$((n + 1))
  fi
done
# Measurements beside the model: the 2-node fixture's measured migration in the lab and the
# Calibrate views.
m=(tests/fixtures/lm-hv1.csv tests/fixtures/lm-hv2.csv tests/fixtures/vmms-hv1.xml)
for size in 1280x720 1920x1080; do
  for view in lab calibrate; do
    for mode in normal presentation; do
      flag=()
      [ "$mode" = presentation ] && flag=(--presentation)
      png="$out/measured-$view-$size-$mode.png"
      run "$bin" screenshot tests/fixtures/lab-2node.toml --out "$png" --at 25s --size "$size" \
        --view "$view" --measured "${m[@]}" "${flag[@]}" >/dev/null 2>&1 \
        || { echo "failed: $png" >&2; continue; }
      n=$((n + 1))
    done
  done
done
echo "wrote $n pictures into $out"
