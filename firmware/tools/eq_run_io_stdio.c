/* eq_run's file I/O on C stdio (host, or newlib with semihosting). */
#include <stdio.h>
#include "eq_run_io.h"

eq_run_file *eq_run_open(const char *path, const char *mode) { return (eq_run_file *)(void *)fopen(path, mode); }
size_t eq_run_read(eq_run_file *f, void *buffer, size_t n) { return fread(buffer, 1, n, (FILE *)(void *)f); }
size_t eq_run_write(eq_run_file *f, const void *buffer, size_t n) { return fwrite(buffer, 1, n, (FILE *)(void *)f); }
int eq_run_close(eq_run_file *f) { return fclose((FILE *)(void *)f); }
void eq_run_log(const char *message) { fputs(message, stderr); }
