using EdgeQuant.Runtime.Format;
using EdgeQuant.Runtime.Math;

namespace EdgeQuant.Runtime.Kernels;

/// <summary>
/// The int16-activation ops of mixed precision (TFLite's 16x8 scheme: symmetric int16 activations with
/// zero point 0, symmetric int8 weights, int64 bias and accumulator, the 16-bit-multiplier requantization
/// <see cref="QuantMath.MultiplyByQuantizedMultiplier16x8"/>) and the conversions at precision boundaries.
/// These loops define the bytes; the fast paths (<c>Int16Ops.Vector128.cs</c>) reproduce them.
/// </summary>
public static partial class Int16Ops
{
    /// <summary>
    /// Conv2DS16 and DepthwiseConv2DS16: acc = bias[oc] + Σ input × filter (int64, no input offset),
    /// out = clamp(MultiplyByQuantizedMultiplier16x8(acc, multipliers[oc], shifts[oc]), min, max).
    /// Conv2D filters are [Cout, Kh, Kw, Cin]; depthwise [1, Kh, Kw, Cout], output channel oc reading input channel oc / depth_multiplier.
    /// </summary>
    public static void ConvS16Reference(in Conv2DParams p, bool depthwise, ReadOnlySpan<short> input, in Shape4 inShape,
        ReadOnlySpan<sbyte> filter, in Shape4 filterShape, ReadOnlySpan<long> bias,
        ReadOnlySpan<int> multipliers, ReadOnlySpan<int> shifts, Span<short> output, in Shape4 outShape)
    {
        int inH = inShape.D1, inW = inShape.D2, cin = inShape.D3;
        int kh = filterShape.D1, kw = filterShape.D2;
        int outH = outShape.D1, outW = outShape.D2, cout = outShape.D3;
        for (int b = 0; b < inShape.D0; b++)
            for (int oy = 0; oy < outH; oy++)
                for (int ox = 0; ox < outW; ox++)
                {
                    int iy0 = oy * p.StrideH - p.PadTop, ix0 = ox * p.StrideW - p.PadLeft;
                    for (int oc = 0; oc < cout; oc++)
                    {
                        long acc = bias[oc];
                        for (int ky = 0; ky < kh; ky++)
                        {
                            int iy = iy0 + ky * p.DilationH;
                            if ((uint)iy >= (uint)inH) continue;
                            for (int kx = 0; kx < kw; kx++)
                            {
                                int ix = ix0 + kx * p.DilationW;
                                if ((uint)ix >= (uint)inW) continue;
                                int inBase = ((b * inH + iy) * inW + ix) * cin;
                                if (depthwise)
                                {
                                    acc += input[inBase + oc / p.DepthMultiplier] * filter[(ky * kw + kx) * cout + oc];
                                }
                                else
                                {
                                    int fBase = ((oc * kh + ky) * kw + kx) * cin;
                                    for (int ic = 0; ic < cin; ic++)
                                        acc += input[inBase + ic] * filter[fBase + ic];
                                }
                            }
                        }
                        output[((b * outH + oy) * outW + ox) * cout + oc] = Output(acc, multipliers[oc], shifts[oc], p.ActivationMin, p.ActivationMax);
                    }
                }
    }

    /// <summary>FullyConnectedS16: input [batches, Cin] int16, filter [Cout, Cin] int8, bias int64, output [batches, Cout] int16.</summary>
    public static void FullyConnectedS16Reference(in FullyConnectedParams p, ReadOnlySpan<short> input, int batches, int cin,
        ReadOnlySpan<sbyte> filter, int cout, ReadOnlySpan<long> bias, ReadOnlySpan<int> multipliers, ReadOnlySpan<int> shifts, Span<short> output)
    {
        for (int b = 0; b < batches; b++)
            for (int oc = 0; oc < cout; oc++)
            {
                long acc = bias[oc];
                for (int ic = 0; ic < cin; ic++)
                    acc += input[b * cin + ic] * filter[oc * cin + ic];
                output[b * cout + oc] = Output(acc, multipliers[oc], shifts[oc], p.ActivationMin, p.ActivationMax);
            }
    }

    /// <summary>The requantized, clamped int16 output of one accumulator.</summary>
    public static short Output(long acc, int multiplier, int shift, int min, int max)
    {
        long v = QuantMath.MultiplyByQuantizedMultiplier16x8(acc, multiplier, shift);
        return (short)(v < min ? min : v > max ? max : v);
    }

    /// <summary>
    /// AddS16: the int8 Add arithmetic (<see cref="Elementwise.AddOne"/>) on int16 codes with zero points 0
    /// and left shift 15: each input × 2^15 is rescaled by its multiplier (below one), the sum by the
    /// output multiplier, clamped to [min, max] in int16. Broadcasting as Add.
    /// </summary>
    public static void AddS16Reference(in ElementwiseParams p, ReadOnlySpan<short> a, in Shape4 aShape, ReadOnlySpan<short> b, in Shape4 bShape,
        Span<short> output, in Shape4 outShape)
    {
        int i = 0;
        for (int d0 = 0; d0 < outShape.D0; d0++)
            for (int d1 = 0; d1 < outShape.D1; d1++)
                for (int d2 = 0; d2 < outShape.D2; d2++)
                    for (int d3 = 0; d3 < outShape.D3; d3++, i++)
                        output[i] = AddOne(p, a[Index(aShape, d0, d1, d2, d3)], b[Index(bShape, d0, d1, d2, d3)]);
    }

    /// <summary>One element of AddS16.</summary>
    public static short AddOne(in ElementwiseParams p, int x, int y)
    {
        int sa = QuantMath.MultiplyByQuantizedMultiplier(x * (1 << p.LeftShift), p.Input1Multiplier, p.Input1Shift);
        int sb = QuantMath.MultiplyByQuantizedMultiplier(y * (1 << p.LeftShift), p.Input2Multiplier, p.Input2Shift);
        int v = QuantMath.MultiplyByQuantizedMultiplier(sa + sb, p.OutputMultiplier, p.OutputShift);
        return (short)System.Math.Clamp(v, p.ActivationMin, p.ActivationMax);
    }

    private static int Index(in Shape4 s, int d0, int d1, int d2, int d3)
    {
        int i0 = s.D0 == 1 ? 0 : d0, i1 = s.D1 == 1 ? 0 : d1, i2 = s.D2 == 1 ? 0 : d2, i3 = s.D3 == 1 ? 0 : d3;
        return ((i0 * s.D1 + i1) * s.D2 + i2) * s.D3 + i3;
    }

    /// <summary>MaxPool2DS16: the largest code of each window (padding ignored), clamped to [min, max].</summary>
    public static void MaxPoolS16(in PoolParams p, ReadOnlySpan<short> input, in Shape4 inShape, Span<short> output, in Shape4 outShape)
    {
        int inH = inShape.D1, inW = inShape.D2, c = inShape.D3;
        for (int b = 0; b < inShape.D0; b++)
            for (int oy = 0; oy < outShape.D1; oy++)
                for (int ox = 0; ox < outShape.D2; ox++)
                {
                    int y0 = oy * p.StrideH - p.PadTop, x0 = ox * p.StrideW - p.PadLeft;
                    int ys = System.Math.Max(0, y0), ye = System.Math.Min(inH, y0 + p.FilterH);
                    int xs = System.Math.Max(0, x0), xe = System.Math.Min(inW, x0 + p.FilterW);
                    for (int ch = 0; ch < c; ch++)
                    {
                        int m = short.MinValue;
                        for (int y = ys; y < ye; y++)
                            for (int x = xs; x < xe; x++)
                                m = System.Math.Max(m, input[((b * inH + y) * inW + x) * c + ch]);
                        output[((b * outShape.D1 + oy) * outShape.D2 + ox) * c + ch] = (short)System.Math.Clamp(m, p.ActivationMin, p.ActivationMax);
                    }
                }
    }

    /// <summary>
    /// MeanS16: acc = Σ x over the H × W positions (int64), out = clamp(MultiplyByQuantizedMultiplier16x8(acc,
    /// multiplier, shift), −32768, 32767) where multiplier × 2^shift represents input_scale / (output_scale × H × W).
    /// </summary>
    public static void MeanS16(in MeanParams p, ReadOnlySpan<short> input, in Shape4 inShape, Span<short> output)
    {
        int hw = inShape.D1 * inShape.D2, c = inShape.D3;
        for (int b = 0; b < inShape.D0; b++)
            for (int ch = 0; ch < c; ch++)
            {
                long acc = 0;
                for (int i = 0; i < hw; i++) acc += input[(b * hw + i) * c + ch];
                output[b * c + ch] = Output(acc, p.Multiplier, p.Shift, short.MinValue, short.MaxValue);
            }
    }

    /// <summary>
    /// Requantize: out = clamp(MultiplyByQuantizedMultiplier(q + InputOffset, Multiplier, Shift) + OutputOffset)
    /// to the output type's range. Input and output are int8 or int16 (<paramref name="inputS16"/>, <paramref name="outputS16"/>).
    /// </summary>
    public static void Requantize(in RequantizeParams p, ReadOnlySpan<byte> input, bool inputS16, Span<byte> output, bool outputS16)
    {
        var in8 = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, sbyte>(input);
        var in16 = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, short>(input);
        var out8 = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, sbyte>(output);
        var out16 = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, short>(output);
        int n = inputS16 ? in16.Length : in8.Length;
        int lo = outputS16 ? short.MinValue : sbyte.MinValue, hi = outputS16 ? short.MaxValue : sbyte.MaxValue;
        for (int i = 0; i < n; i++)
        {
            int q = inputS16 ? in16[i] : in8[i];
            int v = QuantMath.MultiplyByQuantizedMultiplier(q + p.InputOffset, p.Multiplier, p.Shift) + p.OutputOffset;
            v = System.Math.Clamp(v, lo, hi);
            if (outputS16) out16[i] = (short)v;
            else out8[i] = (sbyte)v;
        }
    }

    /// <summary>QuantizeS16: q = clamp(round_half_away(x / scale), −32768, 32767); NaN gives 0.</summary>
    public static void QuantizeF32ToS16(ReadOnlySpan<float> input, Span<short> output, float scale)
    {
        for (int i = 0; i < input.Length; i++) output[i] = QuantMath.QuantizeS16(input[i], scale);
    }

    /// <summary>DequantizeS16: x = q × scale.</summary>
    public static void DequantizeS16ToF32(ReadOnlySpan<short> input, Span<float> output, float scale)
    {
        for (int i = 0; i < input.Length; i++) output[i] = input[i] * scale;
    }
}
