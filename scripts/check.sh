#!/usr/bin/env bash
# Exactly what CI runs after installing packages: formatting, lints, then README's test command.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never
# Tests that render use software GL caches; keep them out of the home folder.
export XDG_CACHE_HOME="${XDG_CACHE_HOME:-$(mktemp -d)}"
export MESA_SHADER_CACHE_DISABLE=true

echo "== cargo fmt --check"
cargo fmt --all --check
echo "== cargo clippy --all-targets -- -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== cargo test --workspace --locked   (README's test command)"
cargo test --workspace --locked
# The optional RDMA feature (Linux): built, linted and its unit tests run (they check that a
# host without RDMA hardware says so). Needs the packages .ci/run installs.
if pkg-config --exists libibverbs librdmacm 2>/dev/null; then
  echo "== cargo clippy/test -p lmlab --features rdma"
  cargo clippy -p lmlab --features rdma --all-targets --locked -- -D warnings
  cargo test -p lmlab-real --features rdma --locked --lib
else
  echo "== skipping the rdma feature: libibverbs/librdmacm headers not installed (see .ci/run)"
fi
