/*
 * The file I/O eq_run needs, behind four calls so a board port can supply its own
 * (semihosting SYS_OPEN/SYS_READ/..., a serial protocol). eq_run_io_stdio.c implements
 * them with C stdio, which is also what newlib's rdimon (semihosting) provides.
 */
#ifndef EQ_RUN_IO_H
#define EQ_RUN_IO_H
#include <stddef.h>

typedef struct eq_run_file eq_run_file;

/* mode: "rb" or "wb". NULL on failure. */
eq_run_file *eq_run_open(const char *path, const char *mode);
/* Bytes read (fewer than n only at the end of the file or on error). */
size_t eq_run_read(eq_run_file *f, void *buffer, size_t n);
/* Bytes written. */
size_t eq_run_write(eq_run_file *f, const void *buffer, size_t n);
/* 0 on success. */
int eq_run_close(eq_run_file *f);
/* Diagnostics and the summary line (stderr / the semihosting console). */
void eq_run_log(const char *message);

#endif
