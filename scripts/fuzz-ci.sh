#!/usr/bin/env bash
# Time-boxed cargo-fuzz run of every target on its committed seed corpus (fuzz/seeds/<target>),
# for .ci/run. Fails on a crash (libFuzzer exits non-zero and leaves the input under
# fuzz/artifacts/<target>/). FUZZ_SECS per target, default 30.
# RUSTC_BOOTSTRAP=1 stands in for a nightly toolchain (docs/testing.md "Fuzzing").
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
secs="${FUZZ_SECS:-30}"
if ! cargo fuzz --version >/dev/null 2>&1; then
  cargo install --locked cargo-fuzz
fi
export RUSTC_BOOTSTRAP=1
cargo fuzz build -O
for target in $(cargo fuzz list); do
  work="corpus/$target"            # gitignored: what this run finds
  mkdir -p "$work" "seeds/$target"
  echo "fuzz: $target for ${secs}s"
  log="$(mktemp)"
  status=0
  cargo fuzz run -O "$target" "$work" "seeds/$target" -- \
    -max_total_time="$secs" -rss_limit_mb=2048 -print_final_stats=1 >"$log" 2>&1 || status=$?
  grep -E 'stat::number_of_executed_units|stat::new_units_added|DONE|panicked|ERROR|SUMMARY|Test unit written' "$log" || true
  if [ "$status" -ne 0 ]; then
    tail -n 60 "$log"
    echo "fuzz: $target FAILED (status $status; the input is under fuzz/artifacts/$target/)"
    exit 1
  fi
  rm -f "$log"
done
