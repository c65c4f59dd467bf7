#!/usr/bin/env bash
# Builds the layer bench for one board, runs it under qemu with the counting plugin and prints
#   <board> <layer> <opt|ref> macs=<n> instructions=<n> instructions_per_mac=<x.xx> match=<0|1> stack=<bytes>
# "opt" is the runtime's dispatcher (the optimized kernel when the core has one), "ref" the
# reference kernel. usage: run.sh BOARD PLUGIN.so BUILD_DIR
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/boards.sh"
board=$1; plugin=$2; dir=$3
elf="$dir/$board/layers.elf"
"$here/build.sh" "$board" "$elf" "$here/layers.c"
eq_board "$board"
mark=$(arm-none-eabi-nm "$elf" | awk '/ eq_bench_mark$/{print $1}')
timeout 120 qemu-system-arm -M "$qemu_machine" -nographic -semihosting -kernel "$elf" \
  -plugin "$plugin,mark=0x$mark" -d plugin -D "$dir/$board/marks.txt" > "$dir/$board/layers.txt"
awk -v board="$board" '
  FNR == NR { if ($1 == "eq-mark") m[$2] = $3; next }
  $1 == "region" {
    i = $2; cal = m[1] - m[0]; n = m[2 * i + 3] - m[2 * i + 2] - cal
    split($5, a, "="); macs = a[2]
    printf "%s %s %s %s instructions=%d instructions_per_mac=%.2f %s %s\n", board, $3, $4, $5, n, n / macs, $6, $7
  }' "$dir/$board/marks.txt" "$dir/$board/layers.txt"
