#!/usr/bin/env bash
# Builds one bench/test image: build.sh BOARD OUT.elf SOURCE.c... [-- EXTRA_CFLAGS...]
# Thumb-2, -O2, C99, warnings are errors; links the bench start-up and semihosting (rdimon).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/boards.sh"
board=$1; out=$2; shift 2
srcs=(); extra=()
while [ $# -gt 0 ]; do
  if [ "$1" = "--" ]; then shift; extra=("$@"); break; fi
  srcs+=("$1"); shift
done
eq_board "$board"
ld="${out%.elf}.ld"
sed -e "s/@FLASH@/$BOARD_FLASH/" -e "s/@FLASH_SIZE@/$BOARD_FLASH_SIZE/" -e "s/@RAM@/$BOARD_RAM/" \
    -e "s/@RAM_SIZE@/$BOARD_RAM_SIZE/" "$here/boards/bench.ld.in" > "$ld"
# shellcheck disable=SC2086
arm-none-eabi-gcc -mthumb $BOARD_CPU -std=c99 -O2 -g -Wall -Wextra -Werror -Wno-unused-function \
  -ffunction-sections -fdata-sections -I "$here/../include" -I "$here/../src" -I "$here/../src/kernels" -I "$here" \
  --specs=rdimon.specs -nostartfiles -Wl,--gc-sections -T "$ld" \
  "${extra[@]}" "$here/boards/startup.c" "${srcs[@]}" -o "$out"
