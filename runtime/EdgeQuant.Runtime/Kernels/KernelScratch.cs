namespace EdgeQuant.Runtime.Kernels;

/// <summary>
/// Scratch each kernel needs, declared so the converter's planner can place it in the arena.
/// The reference kernels need none; fast paths that stage data declare theirs here.
/// </summary>
public static class KernelScratch
{
    /// <summary>Scratch bytes for a Conv2D / DepthwiseConv2D with the given filter and input shapes.</summary>
    public static int Conv2DBytes(int kh, int kw, int cin, int outW) => 0;
}
