using EdgeQuant.Runtime.Format;

namespace EdgeQuant.Runtime.Kernels;

/// <summary>Constant padding of an int8 rank-4 tensor with PadValue (the output zero point for zero padding).</summary>
public static class Pad
{
    public static void EvalS8(in PadParams p, ReadOnlySpan<sbyte> input, in Shape4 inShape, Span<sbyte> output, in Shape4 outShape)
    {
        output.Fill((sbyte)p.PadValue);
        int rowLen = inShape.D3;
        for (int a = 0; a < inShape.D0; a++)
            for (int b = 0; b < inShape.D1; b++)
                for (int c = 0; c < inShape.D2; c++)
                {
                    int src = ((a * inShape.D1 + b) * inShape.D2 + c) * inShape.D3;
                    int dst = (((a + p.Before0) * outShape.D1 + b + p.Before1) * outShape.D2 + c + p.Before2) * outShape.D3 + p.Before3;
                    input.Slice(src, rowLen).CopyTo(output.Slice(dst, rowLen));
                }
    }
}
