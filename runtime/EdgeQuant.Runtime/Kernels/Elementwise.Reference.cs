using System.Runtime.CompilerServices;
using EdgeQuant.Runtime.Format;
using EdgeQuant.Runtime.Math;

namespace EdgeQuant.Runtime.Kernels;

public static partial class Elementwise
{
    /// <summary>One element of Add/Sub: the definition every fast path reproduces.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static sbyte AddOne(in ElementwiseParams p, int x, int y, bool subtract)
    {
        int a = (x + p.Input1Offset) * (1 << p.LeftShift);
        int b = (y + p.Input2Offset) * (1 << p.LeftShift);
        int sa = QuantMath.MultiplyByQuantizedMultiplier(a, p.Input1Multiplier, p.Input1Shift);
        int sb = QuantMath.MultiplyByQuantizedMultiplier(b, p.Input2Multiplier, p.Input2Shift);
        int sum = subtract ? sa - sb : sa + sb;
        int v = QuantMath.MultiplyByQuantizedMultiplier(sum, p.OutputMultiplier, p.OutputShift) + p.OutputOffset;
        return (sbyte)System.Math.Clamp(v, p.ActivationMin, p.ActivationMax);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static sbyte MulOne(in ElementwiseParams p, int x, int y)
    {
        int prod = (x + p.Input1Offset) * (y + p.Input2Offset);
        int v = QuantMath.MultiplyByQuantizedMultiplier(prod, p.OutputMultiplier, p.OutputShift) + p.OutputOffset;
        return (sbyte)System.Math.Clamp(v, p.ActivationMin, p.ActivationMax);
    }

    public static void AddS8Reference(in ElementwiseParams p, ReadOnlySpan<sbyte> a, in Shape4 aShape, ReadOnlySpan<sbyte> b, in Shape4 bShape,
        Span<sbyte> output, in Shape4 outShape, bool subtract)
    {
        int i = 0;
        for (int d0 = 0; d0 < outShape.D0; d0++)
            for (int d1 = 0; d1 < outShape.D1; d1++)
                for (int d2 = 0; d2 < outShape.D2; d2++)
                    for (int d3 = 0; d3 < outShape.D3; d3++, i++)
                        output[i] = AddOne(p, a[Index(aShape, d0, d1, d2, d3)], b[Index(bShape, d0, d1, d2, d3)], subtract);
    }

    public static void MulS8Reference(in ElementwiseParams p, ReadOnlySpan<sbyte> a, in Shape4 aShape, ReadOnlySpan<sbyte> b, in Shape4 bShape,
        Span<sbyte> output, in Shape4 outShape)
    {
        int i = 0;
        for (int d0 = 0; d0 < outShape.D0; d0++)
            for (int d1 = 0; d1 < outShape.D1; d1++)
                for (int d2 = 0; d2 < outShape.D2; d2++)
                    for (int d3 = 0; d3 < outShape.D3; d3++, i++)
                        output[i] = MulOne(p, a[Index(aShape, d0, d1, d2, d3)], b[Index(bShape, d0, d1, d2, d3)]);
    }

    /// <summary>Flat index of a broadcast element: dimensions of size 1 repeat.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Index(in Shape4 s, int d0, int d1, int d2, int d3)
    {
        int i0 = s.D0 == 1 ? 0 : d0, i1 = s.D1 == 1 ? 0 : d1, i2 = s.D2 == 1 ? 0 : d2, i3 = s.D3 == 1 ? 0 : d3;
        return ((i0 * s.D1 + i1) * s.D2 + i2) * s.D3 + i3;
    }
}
