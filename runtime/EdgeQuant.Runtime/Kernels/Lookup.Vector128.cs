using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using EdgeQuant.Runtime.Kernels.Simd;

namespace EdgeQuant.Runtime.Kernels;

public static partial class Lookup
{
    /// <summary>
    /// <see cref="EvalS8"/> through <see cref="TableMap"/> (AVX-512 VBMI, arm64): the table (indexed by x + 128) turned
    /// into one indexed by the byte of x, its halves swapped ((byte)x = (x + 128) XOR 128). In place allowed. False
    /// (nothing written) where TableMap has no vector form, or below 64 elements.
    /// </summary>
    [SkipLocalsInit] // both halves of the swapped table are written
    internal static bool TryEvalS8Table(ReadOnlySpan<sbyte> input, Span<sbyte> output, ReadOnlySpan<sbyte> table)
    {
        int n = input.Length;
        if (!TableMap.IsSupported || n < 64 || output.Length < n || table.Length < 256)
            return false;
        Span<sbyte> byByte = stackalloc sbyte[256];
        table.Slice(128, 128).CopyTo(byByte);
        table.Slice(0, 128).CopyTo(byByte.Slice(128));
        TableMap.Map(ref Unsafe.As<sbyte, byte>(ref MemoryMarshal.GetReference(byByte)), ref Unsafe.As<sbyte, byte>(ref MemoryMarshal.GetReference(input)),
            ref Unsafe.As<sbyte, byte>(ref MemoryMarshal.GetReference(output)), n);
        return true;
    }
}
