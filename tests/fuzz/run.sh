#!/usr/bin/env bash
# Builds the codec fuzzer with clang++-14 in build-fuzz/ (once) and runs it for $1 seconds
# (default 60) on a scratch copy of tests/fuzz/corpus/, so the checked-in seeds stay small.
# Exits non-zero when the fuzzer finds a crash; the reproducer is kept in build-fuzz/artifacts/.
# Reproduce one with: build-fuzz/tests/fuzz/codec_fuzz build-fuzz/artifacts/crash-<sha1>
set -euo pipefail

secs="${1:-60}"
root="$(cd "$(dirname "$0")/../.." && pwd)"
build="$root/build-fuzz"
cd "$root"

if [[ ! -f "$build/build.ninja" ]]; then
  CXX=clang++-14 meson setup "$build" -Dfuzz=true -Dtests=false
fi
ninja -C "$build" tests/fuzz/codec_fuzz

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/corpus" "$build/artifacts"
cp tests/fuzz/corpus/* "$work/corpus/"

"$build/tests/fuzz/codec_fuzz" "$work/corpus" \
  -max_total_time="$secs" -max_len=4096 -timeout=10 -rss_limit_mb=2048 \
  -print_final_stats=1 -artifact_prefix="$build/artifacts/"
