/* The host "port": the same programs built natively. stdio is the console and the files; the
 * stack is not painted (the host's stack belongs to the operating system). */
#include "board.h"

void eq_board_init(void) {}
void eq_board_stack_paint(void) {}
size_t eq_board_stack_used(void) { return 0; }
size_t eq_board_stack_size(void) { return 0; }
