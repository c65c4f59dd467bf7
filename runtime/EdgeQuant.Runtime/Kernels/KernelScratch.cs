using EdgeQuant.Runtime.Kernels.Simd;

namespace EdgeQuant.Runtime.Kernels;

/// <summary>
/// Scratch each kernel needs, declared so the converter's planner can place it in the arena.
/// The reference kernels need none; fast paths that stage data declare theirs here.
/// </summary>
public static class KernelScratch
{
    /// <summary>Output pixels gathered per im2col chunk: the weights are re-read once per chunk, so a few suffice.</summary>
    public const int Conv2DPixelsPerChunk = 8;

    /// <summary>
    /// Scratch bytes for a Conv2D / DepthwiseConv2D with the given filter and input shapes: im2col
    /// rows of Kh x Kw x Cin bytes rounded up to 16, for up to <see cref="Conv2DPixelsPerChunk"/>
    /// output pixels. 1x1 filters read the input in place and need none (depthwise needs none either,
    /// but the planner asks with the same shapes).
    /// </summary>
    public static int Conv2DBytes(int kh, int kw, int cin, int outW)
    {
        if (kh * kw == 1) return 0;
        int kp = (kh * kw * cin + PackedFilter.Granule - 1) / PackedFilter.Granule * PackedFilter.Granule;
        return kp * System.Math.Min(outW, Conv2DPixelsPerChunk);
    }
}
