#!/bin/sh
# Runs every fuzz target in turn for SECONDS each (default 600), from the committed seeds plus
# the working corpus in fuzz/corpus/ (not committed), and prints libFuzzer's last status line
# of each. A crash leaves its input in fuzz/artifacts/TARGET/: copy it into
# fuzz/regressions/TARGET/ with the fix, so `cargo test --test fuzz_regressions` keeps it fixed.
# Needs cargo-fuzz (`cargo install cargo-fuzz`); runs on the stable toolchain.
set -u
cd "$(dirname "$0")"
secs=${1:-600}
export RUSTC_BOOTSTRAP=1
cargo fuzz build -O || exit 1
status=0
for target in show_json plugin_state osc midi audio_file; do
    mkdir -p "corpus/$target"
    case $target in
        audio_file) len=65536 ;;
        show_json | plugin_state) len=16384 ;;
        *) len=4096 ;;
    esac
    log="corpus/$target.log"
    cargo fuzz run -O "$target" "corpus/$target" "seeds/$target" -- \
        -max_total_time="$secs" -max_len="$len" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        >"$log" 2>&1 || status=1
    echo "$target: $(grep -a -E '^#[0-9]+' "$log" | tail -1)"
    grep -a -E 'stat::number_of_executed_units|stat::peak_rss_mb' "$log" | sed "s/^/  /"
    grep -a -E 'ERROR|panicked|Test unit written' "$log" | head -5 | sed "s/^/  /"
done
exit $status
