# Board helpers for the bench and kernel-test images (sourced by build.sh, run.sh, test.sh and
# tools/firmware-kernels/check.sh). The boards themselves are the ports in firmware/boards/
# (board.conf, common start-up, linker script, console).
# eq_board BOARD loads firmware/boards/BOARD/board.conf (name, cflags, qemu_machine, memory map).
EQ_BOARDS="mps2-an385 mps2-an386 mps2-an505 mps3-an547"
eq_board() {
  local conf
  conf="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/boards/$1/board.conf"
  [ -f "$conf" ] || { echo "unknown board '$1' (no $conf)" >&2; return 1; }
  # shellcheck disable=SC1090
  . "$conf"
}
