#!/usr/bin/env bash
# Builds the kernel bit-exactness tests for one board and runs them under qemu; prints the tests'
# output, ending with "N passed, N failed". usage: test.sh BOARD BUILD_DIR
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/boards.sh"
. "$here/sources.sh"
board=$1; dir=$2
mkdir -p "$dir"
elf="$dir/tests-$board.elf"
# shellcheck disable=SC2046
"$here/build.sh" "$board" "$elf" "$here/kernel_tests.c" "$here/oracle_s8.c" $(eq_kernel_sources "$here")
eq_board "$board"
# shellcheck disable=SC2086
timeout 300 qemu-system-arm $BOARD_QEMU -nographic -semihosting -kernel "$elf"
