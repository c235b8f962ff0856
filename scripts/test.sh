#!/usr/bin/env bash
# test.sh - the README's test command (and all that .ci/run does): installs
# what is missing, builds with gcc and with clang (warnings are errors), and
# runs the whole suite in the gcc build and under AddressSanitizer +
# UndefinedBehaviorSanitizer, and the unit tests in the clang build; runs
# integration tests under valgrind; builds
# the Linux packages and installs, checks and purges the .deb on this
# machine (as root: CI is); and runs the fuzz harnesses for a fixed,
# reproducible number of inputs.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh

jobs=$(nproc 2>/dev/null || echo 2)
build() { # dir, cmake args...
  local dir=$1; shift
  cmake -S . -B "$dir" -DRDM_WERROR=ON "$@" >/dev/null
  cmake --build "$dir" -j"$jobs" -- --no-print-directory >/dev/null
}

# the long soaks (label "long": the crash loop, the network faults with a
# minute's outage) run once, in the sanitizer build, where they prove most
echo "== gcc, -Werror (without the long soaks)"
build build/gcc -DCMAKE_C_COMPILER=gcc
ctest --test-dir build/gcc --output-on-failure -LE long

# clang: its warnings and the unit tests; the integration tests run the
# same code in the gcc and sanitizer builds (and kept CI under 20 minutes)
echo "== clang, -Werror (unit tests)"
build build/clang -DCMAKE_C_COMPILER=clang
ctest --test-dir build/clang --output-on-failure -R '^test_'

echo "== gcc, AddressSanitizer + UndefinedBehaviorSanitizer"
build build/asan -DCMAKE_C_COMPILER=gcc -DRDM_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --test-dir build/asan --output-on-failure

echo "== valgrind memcheck: integration tests, every agent process (scripts/valgrind.sh)"
bash scripts/valgrind.sh build/gcc

echo "== Linux packages (.deb, .rpm): built, installed on this machine, checked, purged"
if [ "$(id -u)" -eq 0 ]; then
  bash tests/pkg/test_deb.sh "$PWD" "$PWD/build/pkgtest"
elif sudo -n true 2>/dev/null; then
  sudo bash tests/pkg/test_deb.sh "$PWD" "$PWD/build/pkgtest"
else
  echo "packages: NOT TESTED: installing a package needs root (or sudo without a password)"
fi

echo "== fuzzing: libFuzzer harnesses, a fixed seed and 40000 runs each (scripts/fuzz.sh --ci)"
bash scripts/fuzz.sh --ci
