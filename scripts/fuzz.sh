#!/usr/bin/env bash
# Builds every cargo-fuzz target of fuzz/ and runs each for SECONDS (default 600), two at a
# time, then prints execs and crashes per target.
#
# Works on stable Rust: `cargo fuzz ... --sanitizer none` needs no -Z flag (libFuzzer's
# coverage comes from the stable `-Cpasses=sancov-module`). Install the tool once with
# `cargo install cargo-fuzz`. Seeds are generated from fixtures/ into fuzz/corpus/ (ignored);
# fuzz/regressions/<target>/ (committed) is replayed first. Crashes land in fuzz/artifacts/.
set -euo pipefail
SECONDS_EACH="${1:-600}"
JOBS="${FUZZ_JOBS:-2}"
cd "$(dirname "$0")/../fuzz"
TARGETS=(onnx_compile input_json settings_json proof_json proof_raw vk_bytes vk_structured pk_structured)
TRIPLE="$(rustc -vV | sed -n 's/^host: //p')"
BIN="target/$TRIPLE/release"

cargo fuzz build --sanitizer none --release

# seed corpora
for t in "${TARGETS[@]}"; do mkdir -p "corpus/$t" "artifacts/$t" logs; done
seed() { cp "$2" "corpus/$1/$(basename "$(dirname "$2")")_$(basename "$2")"; }
for f in ../fixtures/*/*.onnx; do seed onnx_compile "$f"; done
for f in ../fixtures/*/*input.json ../fixtures/bad/*.json; do seed input_json "$f"; done
ZKONNX_FUZZ_SEEDS="$PWD/corpus" "$BIN/vk_structured" -runs=0 >/dev/null 2>&1
for t in "${TARGETS[@]}"; do
  [ -d "regressions/$t" ] && cp regressions/"$t"/* "corpus/$t/" 2>/dev/null || true
done

run_one() {
  local t="$1"
  "$BIN/$t" "corpus/$t" -max_total_time="$SECONDS_EACH" -timeout=20 -rss_limit_mb=4096 \
    -artifact_prefix="artifacts/$t/" -print_final_stats=1 >"logs/$t.log" 2>&1 || true
}

pids=()
for t in "${TARGETS[@]}"; do
  run_one "$t" &
  pids+=($!)
  if [ "${#pids[@]}" -ge "$JOBS" ]; then wait "${pids[0]}"; pids=("${pids[@]:1}"); fi
done
wait

printf '%-15s %12s %8s %7s  %s\n' target execs exec/s crashes result
for t in "${TARGETS[@]}"; do
  log="logs/$t.log"
  execs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)"
  rate="$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)"
  crashes="$(find "artifacts/$t" -type f | wc -l)"
  result="$(grep -E -m1 'ERROR: libFuzzer|FUZZ FINDING|Done [0-9]+ runs' "$log" || echo '(see log)')"
  printf '%-15s %12s %8s %7s  %s\n' "$t" "${execs:-?}" "${rate:-?}" "$crashes" "$result"
done
