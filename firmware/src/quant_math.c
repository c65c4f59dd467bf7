#include "quant_math.h"

int32_t eq_mbqm_call(int32_t x, int32_t multiplier, int32_t shift) { return eq_mbqm(x, multiplier, shift); }

int8_t eq_quantize_s8(float x, float scale, int32_t zero_point)
{
    /* C#: r = MathF.Round(x / scale, AwayFromZero); NaN -> 0; r clamped to [-1000, 1000]; + zp; saturate. */
    float v = x / scale;
    int32_t q;
    if (v != v)
        q = 0;
    else if (v > 2000.0f)
        q = 1000;
    else if (v < -2000.0f)
        q = -1000;
    else
    {
        /* |v| <= 2000: truncation and the fraction are exact, so this is round-half-away exactly. */
        int32_t t = (int32_t)v;
        float frac = v - (float)t;
        if (frac >= 0.5f) t++;
        else if (frac <= -0.5f) t--;
        q = eq_clamp(t, -1000, 1000);
    }
    return (int8_t)eq_clamp(q + zero_point, -128, 127);
}

float eq_dequantize_s8(int8_t q, float scale, int32_t zero_point)
{
    return (float)((int32_t)q - zero_point) * scale;
}
