#!/usr/bin/env bash
# Native core checks (issue #3), run by .ci/run before `npm test`:
#   asan  clang ASan+UBSan build: every ctest (unit, fault injection, stress, fuzz replays)
#   tsan  clang TSan build: every ctest, the stress test included
#   fuzz  each libFuzzer target for FUZZ_SECONDS (default 50) under ASan+UBSan, from the
#         committed seed corpus; a crash copies its input to native/fuzz/regressions/<target>/
#         (commit it: ctest replays every file there from then on) and fails the run
# Usage: scripts/native-check.sh [asan] [tsan] [fuzz]   (no argument: all three)
# Any sanitizer report aborts the test that hit it (halt_on_error, -fno-sanitize-recover).
# Builds go to build/native-{asan,tsan}; needs clang-14, libclang-rt-14-dev, googletest.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
jobs="$(nproc)"
fuzz_seconds="${FUZZ_SECONDS:-50}"
stages=("$@")
[ ${#stages[@]} -eq 0 ] && stages=(asan tsan fuzz)

cxx="$(command -v clang++-14 || command -v clang++ || true)"
[ -n "$cxx" ] || { echo "native-check: clang++-14 not found (apt-get install clang-14 libclang-rt-14-dev)"; exit 1; }
[ -f /usr/src/googletest/CMakeLists.txt ] || { echo "native-check: googletest sources missing (apt-get install libgtest-dev)"; exit 1; }

export ASAN_OPTIONS="halt_on_error=1:abort_on_error=1:detect_leaks=1:detect_stack_use_after_return=1:strict_string_checks=1:check_initialization_order=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1"

build() {  # build <dir> <cmake args...>
  local dir="$1"; shift
  cmake -S "$root" -B "$dir" -DKVSTORE_BUILD_TESTS=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_COMPILER="$cxx" "$@" >"$dir.configure.log" 2>&1 || { cat "$dir.configure.log"; return 1; }
  cmake --build "$dir" -j"$jobs" >"$dir.build.log" 2>&1 || { grep -E 'error|warning' "$dir.build.log" | head -50; return 1; }
  if grep -E 'warning:' "$dir.build.log"; then echo "native-check: compiler warnings in $dir"; return 1; fi
}

run_ctest() {  # run_ctest <dir> <label>
  local t0=$SECONDS
  (cd "$1" && ctest --output-on-failure --timeout 900) || { echo "native-check: $2 ctest failed"; return 1; }
  echo "== native $2: ctest passed in $((SECONDS - t0)) s"
}

asan_dir="$root/build/native-asan"
tsan_dir="$root/build/native-tsan"
mkdir -p "$root/build"

for stage in "${stages[@]}"; do
  case "$stage" in
    asan)
      t0=$SECONDS
      build "$asan_dir" -DKVSTORE_SANITIZE=address,undefined -DKVSTORE_FUZZ=ON
      echo "== native asan+ubsan build (tests and fuzzers): $((SECONDS - t0)) s"
      KVSTORE_STRESS_OPS="${KVSTORE_STRESS_OPS:-8000}" run_ctest "$asan_dir" "asan+ubsan"
      ;;
    tsan)
      t0=$SECONDS
      build "$tsan_dir" -DKVSTORE_SANITIZE=thread
      echo "== native tsan build: $((SECONDS - t0)) s"
      KVSTORE_STRESS_OPS="${KVSTORE_STRESS_OPS:-4000}" run_ctest "$tsan_dir" "tsan"
      ;;
    fuzz)
      [ -x "$asan_dir/native/test/fuzz_wal" ] || build "$asan_dir" -DKVSTORE_SANITIZE=address,undefined -DKVSTORE_FUZZ=ON
      for target in wal snapshot control recovery; do
        work="$(mktemp -d)"
        mkdir -p "$work/corpus" "$work/crashes"
        max_len=65536; [ "$target" = control ] && max_len=64
        log="$root/build/fuzz-$target.log"
        set +e
        "$asan_dir/native/test/fuzz_$target" "$work/corpus" "$root/native/fuzz/corpus/$target" \
          -max_total_time="$fuzz_seconds" -rss_limit_mb=2048 -malloc_limit_mb=1024 -timeout=10 \
          -max_len="$max_len" -print_final_stats=1 -artifact_prefix="$work/crashes/" >"$log" 2>&1
        rc=$?
        set -e
        execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo '?')
        speed=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo '?')
        cov=$(grep -Eo 'cov: [0-9]+' "$log" | tail -1 || true)
        if [ $rc -ne 0 ] || [ -n "$(ls -A "$work/crashes")" ]; then
          mkdir -p "$root/native/fuzz/regressions/$target"
          cp "$work/crashes/"* "$root/native/fuzz/regressions/$target/" 2>/dev/null || true
          tail -60 "$log"
          echo "native-check: fuzz_$target found a crash (exit $rc); input kept in native/fuzz/regressions/$target/"
          rm -rf "$work"
          exit 1
        fi
        echo "== fuzz_$target: ${fuzz_seconds} s, $execs execs, $speed execs/s, $cov, no crash"
        rm -rf "$work"
      done
      ;;
    *) echo "native-check: unknown stage $stage (asan, tsan, fuzz)"; exit 2 ;;
  esac
done
