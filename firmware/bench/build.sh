#!/usr/bin/env bash
# Builds one bench/test image on a board port: build.sh BOARD OUT.elf SOURCE.c... [-- EXTRA_CFLAGS...]
# Links the runtime's kernels (reference and optimized, EQ_WITH_DSP_KERNELS/EQ_WITH_MVE_KERNELS
# set as the CMake build sets them), quant_math, and the board port (start-up, console, stack
# painting, linker script). C99, warnings are errors; -O2 unless EQ_BENCH_OPT says otherwise;
# EQ_BENCH_CFLAGS adds flags (e.g. -DEQ_OPT_NO_ASM=1).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
fw="$(cd "$here/.." && pwd)"
. "$here/boards.sh"
board=$1; out=$2; shift 2
srcs=(); extra=()
while [ $# -gt 0 ]; do
  if [ "$1" = "--" ]; then shift; extra=("$@"); break; fi
  srcs+=("$1"); shift
done
eq_board "$board"
dir="$(dirname "$out")"
mkdir -p "$dir"
cat > "$dir/memory.ld" <<LD
MEMORY
{
    FLASH (rx) : ORIGIN = $flash_origin, LENGTH = $flash_bytes
    RAM (rwx) : ORIGIN = $ram_origin, LENGTH = $ram_bytes
}
__eq_stack_bytes = $stack_bytes;
__eq_heap_bytes = 8192;
LD
# shellcheck disable=SC2086,SC2046
arm-none-eabi-gcc $cflags -std=c99 ${EQ_BENCH_OPT:--O2} -g -Wall -Wextra -Werror \
  -ffunction-sections -fdata-sections -DEQ_WITH_DSP_KERNELS=1 -DEQ_WITH_MVE_KERNELS=1 \
  -I "$fw/include" -I "$fw/src" -I "$fw/src/kernels" -I "$fw/boards/common" -I "$here" \
  --specs=rdimon.specs -nostartfiles -Wl,--gc-sections -L "$dir" -T "$fw/boards/common/cortex-m.ld" \
  ${EQ_BENCH_CFLAGS:-} "${extra[@]}" "$fw/boards/common/startup.c" "$fw/boards/common/stack.c" \
  "$fw/src/quant_math.c" $(ls "$fw"/src/kernels/*.c) "${srcs[@]}" -o "$out"
