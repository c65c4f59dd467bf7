using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using EdgeQuant.Runtime.Kernels.Simd;

namespace EdgeQuant.Runtime.Kernels;

public static partial class Lookup
{
    /// <summary>
    /// <see cref="EvalS8"/> with AVX-512 VBMI: the table (indexed by x + 128) turned into one indexed by the byte of x
    /// (its halves swapped: (byte)x = (x + 128) XOR 128) in four 512-bit registers, then
    /// <see cref="SimdOps512.MapBytes"/> (64 bytes per two VPERMI2B; in place allowed). False (nothing written) without
    /// VBMI or below 64 elements.
    /// </summary>
    internal static bool TryEvalS8Vbmi(ReadOnlySpan<sbyte> input, Span<sbyte> output, ReadOnlySpan<sbyte> table)
    {
        int n = input.Length;
        if (!Avx512Vbmi.IsSupported || n < 64 || output.Length < n || table.Length < 256)
            return false;
        ref byte t = ref Unsafe.As<sbyte, byte>(ref MemoryMarshal.GetReference(table));
        // Bytes 0..127 of x (x >= 0) are entries 128..255; bytes 128..255 (x < 0) entries 0..127.
        var t0 = Vector512.LoadUnsafe(ref t, 128);
        var t1 = Vector512.LoadUnsafe(ref t, 192);
        var t2 = Vector512.LoadUnsafe(ref t);
        var t3 = Vector512.LoadUnsafe(ref t, 64);
        SimdOps512.MapBytes(ref Unsafe.As<sbyte, byte>(ref MemoryMarshal.GetReference(input)), ref Unsafe.As<sbyte, byte>(ref MemoryMarshal.GetReference(output)),
            n, t0, t1, t2, t3);
        return true;
    }
}
