/* Ops 23-26, Lstm, Gru, LstmPacked and GruPacked: the reference loop nest (mirrors
 * Kernels/Recurrent.Reference.cs, Recurrent.Run with ScalarDot and Int4Dot, and Math/GateMath.cs).
 * Integer only: Q3.12 gate pre-activations, the 257-entry sigmoid/tanh tables of GateMath with its
 * linear interpolation, Q0.15 gates and hidden state, the int16 cell state. C# int arithmetic wraps
 * where a sum could leave int32 (a bias plus a dot product); here those sums are uint32_t. Every other
 * product is bounded by the reader's rules (H <= 256, I <= 16384, offsets in [-255, 255]).
 * Ops 25-26 read their int4 rows (low nibble first, each gate row on a byte) and their packed per-row
 * record (PackedRecurrent: Q3.12 biases added after the rescale, multiplier = m16 << 15) in place. */
#include "kernels.h"
#include "quant_math.h"
#include "eq_internal.h"

#if EQ_WITH_RECURRENT

/* GateMath.Sigmoid257 / Tanh257: round(32768 f(-8 + k / 16)), k = 0..256 (tanh saturated to +-32767). */
static const int16_t sigmoid257[257] = {
    11, 12, 12, 13, 14, 15, 16, 17, 18, 19, 21, 22, 23, 25, 26, 28,
    30, 32, 34, 36, 38, 41, 43, 46, 49, 52, 56, 59, 63, 67, 72, 76,
    81, 86, 92, 98, 104, 111, 118, 125, 133, 142, 151, 161, 171, 182, 194, 206,
    219, 233, 248, 264, 281, 299, 318, 338, 360, 383, 407, 433, 461, 490, 521, 554,
    589, 627, 666, 708, 753, 800, 851, 904, 961, 1021, 1084, 1152, 1223, 1299, 1379, 1464,
    1554, 1649, 1750, 1856, 1969, 2088, 2213, 2346, 2486, 2633, 2789, 2952, 3124, 3306, 3496, 3696,
    3906, 4126, 4357, 4599, 4851, 5115, 5391, 5678, 5978, 6289, 6613, 6949, 7297, 7658, 8031, 8416,
    8813, 9221, 9641, 10072, 10513, 10964, 11424, 11894, 12371, 12856, 13348, 13845, 14347, 14852, 15361, 15872,
    16384, 16896, 17407, 17916, 18421, 18923, 19420, 19912, 20397, 20874, 21344, 21804, 22255, 22696, 23127, 23547,
    23955, 24352, 24737, 25110, 25471, 25819, 26155, 26479, 26790, 27090, 27377, 27653, 27917, 28169, 28411, 28642,
    28862, 29072, 29272, 29462, 29644, 29816, 29979, 30135, 30282, 30422, 30555, 30680, 30799, 30912, 31018, 31119,
    31214, 31304, 31389, 31469, 31545, 31616, 31684, 31747, 31807, 31864, 31917, 31968, 32015, 32060, 32102, 32141,
    32179, 32214, 32247, 32278, 32307, 32335, 32361, 32385, 32408, 32430, 32450, 32469, 32487, 32504, 32520, 32535,
    32549, 32562, 32574, 32586, 32597, 32607, 32617, 32626, 32635, 32643, 32650, 32657, 32664, 32670, 32676, 32682,
    32687, 32692, 32696, 32701, 32705, 32709, 32712, 32716, 32719, 32722, 32725, 32727, 32730, 32732, 32734, 32736,
    32738, 32740, 32742, 32743, 32745, 32746, 32747, 32749, 32750, 32751, 32752, 32753, 32754, 32755, 32756, 32756,
    32757,
};

static const int16_t tanh257[257] = {
    -32767, -32767, -32767, -32767, -32767, -32767, -32767, -32767, -32767, -32767, -32767, -32767, -32767, -32767, -32767, -32767,
    -32767, -32767, -32767, -32767, -32767, -32767, -32767, -32767, -32767, -32767, -32767, -32767, -32767, -32767, -32767, -32767,
    -32767, -32767, -32767, -32767, -32767, -32767, -32767, -32767, -32767, -32767, -32767, -32766, -32766, -32766, -32766, -32765,
    -32765, -32765, -32764, -32764, -32763, -32762, -32762, -32761, -32760, -32759, -32758, -32756, -32755, -32753, -32751, -32749,
    -32746, -32743, -32740, -32736, -32732, -32727, -32721, -32715, -32708, -32700, -32691, -32681, -32670, -32657, -32642, -32625,
    -32606, -32584, -32560, -32532, -32501, -32466, -32426, -32381, -32329, -32271, -32206, -32132, -32048, -31953, -31846, -31726,
    -31589, -31435, -31262, -31067, -30847, -30600, -30322, -30010, -29660, -29268, -28830, -28341, -27797, -27191, -26519, -25776,
    -24956, -24054, -23066, -21986, -20813, -19542, -18173, -16706, -15143, -13486, -11743, -9919, -8025, -6073, -4075, -2045,
    0, 2045, 4075, 6073, 8025, 9919, 11743, 13486, 15143, 16706, 18173, 19542, 20813, 21986, 23066, 24054,
    24956, 25776, 26519, 27191, 27797, 28341, 28830, 29268, 29660, 30010, 30322, 30600, 30847, 31067, 31262, 31435,
    31589, 31726, 31846, 31953, 32048, 32132, 32206, 32271, 32329, 32381, 32426, 32466, 32501, 32532, 32560, 32584,
    32606, 32625, 32642, 32657, 32670, 32681, 32691, 32700, 32708, 32715, 32721, 32727, 32732, 32736, 32740, 32743,
    32746, 32749, 32751, 32753, 32755, 32756, 32758, 32759, 32760, 32761, 32762, 32762, 32763, 32764, 32764, 32765,
    32765, 32765, 32766, 32766, 32766, 32766, 32767, 32767, 32767, 32767, 32767, 32767, 32767, 32767, 32767, 32767,
    32767, 32767, 32767, 32767, 32767, 32767, 32767, 32767, 32767, 32767, 32767, 32767, 32767, 32767, 32767, 32767,
    32767, 32767, 32767, 32767, 32767, 32767, 32767, 32767, 32767, 32767, 32767, 32767, 32767, 32767, 32767, 32767,
    32767,
};

static int32_t sat16(int32_t x) { return x < -32768 ? -32768 : (x > 32767 ? 32767 : x); }

/* x >> 8 rounding toward minus infinity (C#'s arithmetic shift) without relying on the
 * implementation-defined right shift of a negative int. */
static int32_t asr8(int32_t x) { return x >= 0 ? x >> 8 : -(int32_t)(((uint32_t)(-(x + 1)) >> 8) + 1u); }

/* GateMath.Interpolate: a Q3.12 input (saturated to int16) to a Q0.15 output. */
static int32_t gate(const int16_t *table, int32_t x)
{
    const int32_t u = sat16(x) + 32768;
    const int32_t k = u >> 8, r = u & 255;
    const int32_t a = table[k], b = table[k + 1];
    return (int16_t)(a + asr8((b - a) * r + 128));
}

#define SIGMOID(x) gate(sigmoid257, (x))
#define TANH(x) gate(tanh257, (x))

/* Weight i of a stored row: int8, or the signed int4 nibble (element 2i the low nibble). */
static int32_t wt(const uint8_t *row, int32_t i, int32_t int4)
{
    if (!int4) return (int8_t)row[i];
    return (int32_t)((((uint32_t)row[i >> 1] >> ((i & 1) << 2)) & 15u) ^ 8u) - 8;
}

/* Sum (x[i] + offset) * w[i] and sum h[j] * w[j], modulo 2^32 as C#'s int. */
static uint32_t dot_x(const int8_t *x, int32_t n, int32_t offset, const uint8_t *w, int32_t int4)
{
    uint32_t acc = 0;
    int32_t i;
    for (i = 0; i < n; i++) acc += (uint32_t)(((int32_t)x[i] + offset) * wt(w, i, int4));
    return acc;
}

static uint32_t dot_h(const int16_t *h, int32_t n, const uint8_t *w, int32_t int4)
{
    uint32_t acc = 0;
    int32_t j;
    for (j = 0; j < n; j++) acc += (uint32_t)((int32_t)h[j] * wt(w, j, int4));
    return acc;
}

/* One gate part of row `row` (0 .. G*H - 1) of direction `dir`; part 0 the input part, 1 the recurrent
 * part: sat16(sat16(MBQM(pre_bias + dot, m, s)) + post_bias) (Recurrent.Part). Ops 23-24 add the int32
 * bias before the rescale, ops 25-26 the record's Q3.12 bias after it. */
static int16_t part(const eq_recurrent_params *p, int32_t dir, int32_t which, int32_t row, uint32_t dot)
{
    const int32_t rows = p->gates * p->hidden;
    const int32_t k = dir * rows + row;                  /* index into the per-row arrays [D, G*H] */
    const int32_t b = (dir * 2 + which) * rows + row;    /* index into the biases [D, 2, G*H] */
    int32_t m, s, post = 0;
    if (p->record != NULL)
    {
        const int32_t n = p->directions * rows;          /* PackedRecurrent: N rows, 10 bytes each */
        const uint8_t *rec = p->record;
        post = (int16_t)eq_rd_u16(rec + 2 * b);
        m = (int32_t)((uint32_t)eq_rd_u16(rec + (which ? 6 : 4) * n + 2 * k) << 15);
        s = (int8_t)rec[(which ? 9 : 8) * n + k];
    }
    else
    {
        dot += (uint32_t)p->bias[b];
        m = (which ? p->recurrent_multipliers : p->input_multipliers)[k];
        s = (which ? p->recurrent_shifts : p->input_shifts)[k];
    }
    return (int16_t)sat16(sat16(eq_mbqm_call((int32_t)dot, m, s)) + post);
}

void eq_recurrent_s8_ref(const eq_recurrent_params *p)
{
    const int32_t steps = p->steps, batch = p->batch, inputs = p->inputs, hidden = p->hidden;
    const int32_t rows = p->gates * hidden, dirs = p->directions, int4 = p->int4;
    const int32_t lstm = p->gates == 4, lbr = p->linear_before_reset;
    const int32_t w_row = int4 ? (inputs + 1) >> 1 : inputs, r_row = int4 ? (hidden + 1) >> 1 : hidden;
    /* Recurrent.ScratchBytes: gx, gh (G*H each), h, c, r (.) h (H each), int16. */
    int16_t *gx = p->scratch, *gh = gx + rows, *h = gh + rows, *c = h + hidden, *rh = c + hidden;
    const int32_t state_rows = lstm || lbr ? rows : 2 * hidden;
    int32_t dir, b, s, row, j;
    for (dir = 0; dir < dirs; dir++)
    {
        const int reverse = p->direction == 1 || dir == 1;
        const uint8_t *wd = p->w + (uint32_t)(dir * rows) * (uint32_t)w_row;
        const uint8_t *rd = p->r + (uint32_t)(dir * rows) * (uint32_t)r_row;
        for (b = 0; b < batch; b++)
        {
            for (j = 0; j < hidden; j++) h[j] = c[j] = 0;
            for (s = 0; s < steps; s++)
            {
                const int32_t t = reverse ? steps - 1 - s : s;
                const int8_t *xt = p->x + (t * batch + b) * inputs;
                int8_t *yt = p->y + ((t * dirs + dir) * batch + b) * hidden;
                for (row = 0; row < rows; row++)
                    gx[row] = part(p, dir, 0, row, dot_x(xt, inputs, p->input_offset, wd + row * w_row, int4));
                for (row = 0; row < state_rows; row++)
                    gh[row] = part(p, dir, 1, row, dot_h(h, hidden, rd + row * r_row, int4));
                if (lstm)
                {
                    /* Recurrent.LstmCell, rows i, o, f, c. */
                    for (j = 0; j < hidden; j++)
                    {
                        const int32_t ig = SIGMOID(gx[j] + gh[j]);
                        const int32_t og = SIGMOID(gx[hidden + j] + gh[hidden + j]);
                        const int32_t fg = SIGMOID(gx[2 * hidden + j] + gh[2 * hidden + j]);
                        const int32_t g = TANH(gx[3 * hidden + j] + gh[3 * hidden + j]);
                        const int32_t cell = sat16(eq_rounding_divide_by_pot(fg * c[j], 15)
                            + eq_rounding_divide_by_pot(ig * g, 30 - p->cell_shift));
                        const int32_t q312 = p->cell_shift >= 12
                            ? eq_rounding_divide_by_pot(cell, p->cell_shift - 12)
                            : sat16(cell * (1 << (12 - p->cell_shift)));
                        c[j] = (int16_t)cell;
                        h[j] = (int16_t)eq_rounding_divide_by_pot(og * TANH(q312), 15);
                    }
                }
                else
                {
                    if (!lbr)
                    {
                        /* The candidate rows over r (.) h, rounded to Q0.15, once the reset gate is known. */
                        for (j = 0; j < hidden; j++)
                            rh[j] = (int16_t)eq_rounding_divide_by_pot(SIGMOID(gx[hidden + j] + gh[hidden + j]) * h[j], 15);
                        for (row = 2 * hidden; row < rows; row++)
                            gh[row] = part(p, dir, 1, row, dot_h(rh, hidden, rd + row * r_row, int4));
                    }
                    /* Recurrent.GruCell, rows z, r, h. */
                    for (j = 0; j < hidden; j++)
                    {
                        const int32_t z = SIGMOID(gx[j] + gh[j]);
                        int32_t candidate, n;
                        if (lbr)
                            candidate = gx[2 * hidden + j]
                                + eq_rounding_divide_by_pot(SIGMOID(gx[hidden + j] + gh[hidden + j]) * gh[2 * hidden + j], 15);
                        else
                            candidate = gx[2 * hidden + j] + gh[2 * hidden + j];
                        n = TANH(candidate);
                        h[j] = (int16_t)sat16(n + eq_rounding_divide_by_pot(z * (h[j] - n), 15));
                    }
                }
                for (j = 0; j < hidden; j++)
                    yt[j] = (int8_t)eq_clamp(eq_add_wrap(eq_mbqm_call(h[j], p->output_multiplier, p->output_shift), p->output_offset), -128, 127);
            }
        }
    }
}

#endif
