using EdgeQuant.Runtime.Format;

namespace EdgeQuant.Runtime.Kernels;

/// <summary>
/// Float32 versions of the data-movement and reduction ops that sit between dynamically quantized
/// layers (MaxPool2DF32, MeanF32, AddF32, TransposeF32). These loops are their definition; they are
/// memory-bound and have no separate fast path.
/// </summary>
public static class FloatOps
{
    /// <summary>Largest value of each window (padding ignored; the validator guarantees one valid position per window).</summary>
    public static void MaxPoolF32(in PoolParams p, ReadOnlySpan<float> input, Shape4 inShape, Span<float> output, Shape4 outShape)
    {
        int h = inShape.D1, w = inShape.D2, c = inShape.D3;
        for (int b = 0; b < outShape.D0; b++)
            for (int oy = 0; oy < outShape.D1; oy++)
                for (int ox = 0; ox < outShape.D2; ox++)
                {
                    int y0 = oy * p.StrideH - p.PadTop, x0 = ox * p.StrideW - p.PadLeft;
                    int ya = System.Math.Max(0, y0), yb = System.Math.Min(h, y0 + p.FilterH);
                    int xa = System.Math.Max(0, x0), xb = System.Math.Min(w, x0 + p.FilterW);
                    for (int ch = 0; ch < c; ch++)
                    {
                        float m = float.NegativeInfinity;
                        for (int y = ya; y < yb; y++)
                            for (int x = xa; x < xb; x++)
                            {
                                float v = input[((b * h + y) * w + x) * c + ch];
                                if (v > m || float.IsNaN(v)) m = v;
                            }
                        output[((b * outShape.D1 + oy) * outShape.D2 + ox) * c + ch] = m;
                    }
                }
    }

    /// <summary>Mean over H and W: the float32 sum in row-major order (y, then x), divided by H × W.</summary>
    public static void MeanF32(ReadOnlySpan<float> input, Shape4 inShape, Span<float> output)
    {
        int h = inShape.D1, w = inShape.D2, c = inShape.D3;
        float count = h * w;
        for (int b = 0; b < inShape.D0; b++)
            for (int ch = 0; ch < c; ch++)
            {
                float sum = 0;
                for (int k = 0; k < h * w; k++) sum += input[(b * h * w + k) * c + ch];
                output[b * c + ch] = sum / count;
            }
    }

    /// <summary>a + b with NumPy broadcasting over the rank-4 view, clamped to [min, max].</summary>
    public static void AddF32(ReadOnlySpan<float> a, Shape4 aShape, ReadOnlySpan<float> b, Shape4 bShape, Span<float> output, Shape4 outShape, float min, float max)
    {
        int i = 0;
        for (int d0 = 0; d0 < outShape.D0; d0++)
            for (int d1 = 0; d1 < outShape.D1; d1++)
                for (int d2 = 0; d2 < outShape.D2; d2++)
                    for (int d3 = 0; d3 < outShape.D3; d3++)
                    {
                        float y = a[Index(aShape, d0, d1, d2, d3)] + b[Index(bShape, d0, d1, d2, d3)];
                        output[i++] = y < min ? min : y > max ? max : y;
                    }
    }

    private static int Index(Shape4 s, int d0, int d1, int d2, int d3) =>
        ((System.Math.Min(d0, s.D0 - 1) * s.D1 + System.Math.Min(d1, s.D1 - 1)) * s.D2 + System.Math.Min(d2, s.D2 - 1)) * s.D3 + System.Math.Min(d3, s.D3 - 1);

    /// <summary>Output dimension i is input dimension perm[i].</summary>
    public static void TransposeF32(in TransposeParams p, ReadOnlySpan<float> input, Shape4 inShape, Span<float> output, Shape4 outShape)
    {
        Span<int> stride = [inShape.D1 * inShape.D2 * inShape.D3, inShape.D2 * inShape.D3, inShape.D3, 1];
        int s0 = stride[p.Perm0], s1 = stride[p.Perm1], s2 = stride[p.Perm2], s3 = stride[p.Perm3];
        int i = 0;
        for (int a = 0; a < outShape.D0; a++)
            for (int b = 0; b < outShape.D1; b++)
                for (int c = 0; c < outShape.D2; c++)
                    for (int d = 0; d < outShape.D3; d++)
                        output[i++] = input[a * s0 + b * s1 + c * s2 + d * s3];
    }
}
