# Board table for the bench and kernel-test images (sourced by build.sh and tools/firmware-kernels/check.sh).
# eq_board BOARD sets: BOARD_CPU (compiler flags), BOARD_FLASH/BOARD_FLASH_SIZE, BOARD_RAM/BOARD_RAM_SIZE,
# BOARD_QEMU (qemu-system-arm machine and cpu).
eq_board() {
  case "$1" in
    mps2-an385) BOARD_CPU="-mcpu=cortex-m3"; BOARD_FLASH=0x00000000; BOARD_FLASH_SIZE=4M; BOARD_RAM=0x20000000; BOARD_RAM_SIZE=4M; BOARD_QEMU="-M mps2-an385" ;;
    mps2-an386) BOARD_CPU="-mcpu=cortex-m4 -mfloat-abi=soft"; BOARD_FLASH=0x00000000; BOARD_FLASH_SIZE=4M; BOARD_RAM=0x20000000; BOARD_RAM_SIZE=4M; BOARD_QEMU="-M mps2-an386" ;;
    mps2-an505) BOARD_CPU="-mcpu=cortex-m33 -mfloat-abi=soft"; BOARD_FLASH=0x10000000; BOARD_FLASH_SIZE=4M; BOARD_RAM=0x38000000; BOARD_RAM_SIZE=512K; BOARD_QEMU="-M mps2-an505" ;;
    mps3-an547) BOARD_CPU="-mcpu=cortex-m55 -mfloat-abi=hard"; BOARD_FLASH=0x00000000; BOARD_FLASH_SIZE=512K; BOARD_RAM=0x20000000; BOARD_RAM_SIZE=512K; BOARD_QEMU="-M mps3-an547" ;;
    *) echo "unknown board '$1' (known: mps2-an385 mps2-an386 mps2-an505 mps3-an547)" >&2; return 1 ;;
  esac
}
EQ_BOARDS="mps2-an385 mps2-an386 mps2-an505 mps3-an547"
