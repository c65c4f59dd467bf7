using System.Numerics;

namespace EdgeQuant.Converter.Graph.Ops;

/// <summary>Inner loops shared by the float kernels.</summary>
internal static class FloatLoops
{
    /// <summary>
    /// dst[i] += scale * src[i]. The vector body does a separate multiply and add per element,
    /// exactly like the scalar tail, so results do not depend on the vector width.
    /// </summary>
    public static void MultiplyAdd(Span<float> dst, ReadOnlySpan<float> src, float scale)
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated && dst.Length >= Vector<float>.Count)
        {
            var s = new Vector<float>(scale);
            for (; i <= dst.Length - Vector<float>.Count; i += Vector<float>.Count)
            {
                var d = new Vector<float>(dst[i..]);
                var x = new Vector<float>(src[i..]);
                (d + (s * x)).CopyTo(dst[i..]);
            }
        }

        for (; i < dst.Length; i++)
        {
            dst[i] += scale * src[i];
        }
    }
}
