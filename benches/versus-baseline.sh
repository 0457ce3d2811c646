#!/usr/bin/env bash
# The engine benchmark of this checkout beside the same benchmark of the code as it was when the
# performance goals of issue #7 were set (commit 894b04f), run one after the other on this
# machine. The machine's speed drifts by up to 2x from day to day (kira's own figures moved from
# 20 to 35 ns per voice-frame between two sessions), so a goal written as a number of that day is
# judged here against the code of that day, measured now.
#
# Usage: bash benches/versus-baseline.sh [section ...]   (default: mix stream; the baseline knows
# the sections show100, mix, stream and render). The baseline builds once into target/baseline.
set -euo pipefail
cd "$(dirname "$0")/.."
base=${SEGUE_BASELINE:-894b04f}
sections=("$@")
[ ${#sections[@]} -gt 0 ] || sections=(mix stream)
tree=$(mktemp -d)/segue-baseline
git worktree add --detach -f "$tree" "$base" >/dev/null
trap 'git worktree remove --force "$tree"' EXIT
CARGO_TARGET_DIR="$PWD/target/baseline" cargo bench --manifest-path "$tree/Cargo.toml" --bench engine --no-run
cargo bench --bench engine --no-run
for section in "${sections[@]}"; do
    echo
    echo "# $section: the code at $base"
    CARGO_TARGET_DIR="$PWD/target/baseline" cargo bench --manifest-path "$tree/Cargo.toml" --bench engine -- "$section" 2>/dev/null
    echo
    echo "# $section: this checkout ($(git rev-parse --short HEAD))"
    cargo bench --bench engine -- "$section" 2>/dev/null
done
