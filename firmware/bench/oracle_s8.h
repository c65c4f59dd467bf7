/* The reference loop nests for the bench and tests (see oracle_s8.c). */
#ifndef EQ_BENCH_ORACLE_S8_H
#define EQ_BENCH_ORACLE_S8_H
#include "kernels_opt.h"
void oracle_conv2d_s8(const eq_opt_conv_s8 *p);
void oracle_depthwise_conv2d_s8(const eq_opt_conv_s8 *p);
void oracle_fully_connected_s8(const eq_opt_fc_s8 *p);
#endif
