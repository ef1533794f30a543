#!/usr/bin/env bash
# Builds a libFuzzer target and runs it for a set time.
#   Tests/Fuzz/fuzz.sh TARGET SECONDS [libFuzzer flags...]
# TARGET is a fuzz library product (FuzzMMT, ...). Crashes land in
# Tests/Fuzz/Regressions/TARGET/, which the test suite replays; the corpus
# grows in .build-fuzz/corpus/TARGET (not committed).
set -euo pipefail
cd "$(dirname "$0")/../.."
target=${1:?usage: fuzz.sh TARGET SECONDS}
seconds=${2:?usage: fuzz.sh TARGET SECONDS}
shift 2
scratch=.build-fuzz
flags=(-Xswiftc -sanitize=fuzzer,address -Xswiftc -g)
swift build -c release --scratch-path "$scratch" --product "$target" "${flags[@]}"
swiftc "$scratch/release/lib$target.a" -g -sanitize=fuzzer,address -o "$scratch/$target"
mkdir -p "$scratch/corpus/$target" "Tests/Fuzz/Regressions/$target"
# Seed the corpus with every input kept so far, and the fixtures for the .mmt target.
cp -n "Tests/Fuzz/Regressions/$target/"* "$scratch/corpus/$target/" 2>/dev/null || true
if [ "$target" = FuzzMMT ]; then cp -n Fixtures/*.mmt "$scratch/corpus/$target/" 2>/dev/null || true; fi
SWIFT_BACKTRACE=enable=off "$scratch/$target" "$scratch/corpus/$target" \
  -max_total_time="$seconds" -timeout=10 -rss_limit_mb=4096 -max_len=4096 \
  -artifact_prefix="Tests/Fuzz/Regressions/$target/" -print_final_stats=1 "$@"
