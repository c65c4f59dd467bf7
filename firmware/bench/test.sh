#!/usr/bin/env bash
# Builds the kernel bit-exactness tests for one board and runs them under qemu; prints the tests'
# output, ending with "N passed, N failed". usage: test.sh BOARD BUILD_DIR
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/boards.sh"
board=$1; dir=$2
elf="$dir/$board/tests.elf"
"$here/build.sh" "$board" "$elf" "$here/kernel_tests.c"
eq_board "$board"
timeout 300 qemu-system-arm -M "$qemu_machine" -nographic -semihosting -kernel "$elf"
