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
