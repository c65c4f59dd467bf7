using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using EdgeQuant.Runtime.Kernels.Simd;
using EdgeQuant.Runtime.Math;

namespace EdgeQuant.Runtime.Kernels;

public static partial class Concatenation
{
    /// <summary>Input bytes mapped per block of <see cref="TryRescaleTable"/> (a stack buffer).</summary>
    private const int RescaleTableBlock = 4096;

    /// <summary>
    /// The rescaling copy of one input through its whole function: the rescaled value depends only on the int8 input, so
    /// its 256 values are computed first (<see cref="RescaleVector"/>, the same arithmetic), held in four 512-bit
    /// registers, and each 64 input bytes are mapped by two VPERMI2B (the 128 values of each half of the byte range) and
    /// a byte blend on the index's top bit. The input is mapped in blocks (contiguous: <paramref name="outer"/> runs of
    /// <paramref name="chunk"/> bytes; the last 64-byte step overlapping the one before, which maps the same bytes
    /// again), then each run is copied to its place in the output (run o at o x <paramref name="outRun"/> +
    /// <paramref name="at"/>). False (nothing written) without AVX-512 VBMI.
    /// </summary>
    [SkipLocalsInit] // every mapped byte is written before it is copied out
    internal static bool TryRescaleTable(ReadOnlySpan<sbyte> input, Span<sbyte> output, int outer, int chunk, int outRun, int at,
        int inputOffset, int multiplier, int shift, int outputOffset)
    {
        if (!TableMap.IsSupported || chunk <= 0)
            return false;
        Span<sbyte> values = stackalloc sbyte[256];
        Span<sbyte> all = stackalloc sbyte[256];
        for (int k = 0; k < 256; k++) all[k] = (sbyte)k; // byte k: the int8 value (sbyte)k, at index k
        RescaleVector(all, values, inputOffset, multiplier, shift, outputOffset);
        return TryMapTable(values, input, output, outer, chunk, outRun, at);
    }

    /// <summary>
    /// <see cref="TryRescaleTable"/> with the 256 values given (<paramref name="table"/>[(byte)x] is x's result), mapped by
    /// <see cref="TableMap"/>. False (nothing written) where it has no vector form.
    /// </summary>
    [SkipLocalsInit] // every mapped byte is written before it is copied out
    internal static bool TryMapTable(ReadOnlySpan<sbyte> table, ReadOnlySpan<sbyte> input, Span<sbyte> output, int outer, int chunk, int outRun, int at)
    {
        if (!TableMap.IsSupported || chunk <= 0 || table.Length < 256)
            return false;
        int total = outer * chunk;
        if (input.Length < total || output.Length < (outer - 1) * outRun + at + chunk)
            throw new ArgumentException($"concatenation input of {input.Length} or output of {output.Length} elements is shorter than its shape");
        ref byte v = ref Unsafe.As<sbyte, byte>(ref MemoryMarshal.GetReference(table));
        Span<byte> mapped = stackalloc byte[RescaleTableBlock];
        ref byte m = ref MemoryMarshal.GetReference(mapped);
        ref byte src = ref Unsafe.As<sbyte, byte>(ref MemoryMarshal.GetReference(input));
        ref byte dst = ref Unsafe.As<sbyte, byte>(ref MemoryMarshal.GetReference(output));
        // Whole runs per block (a run longer than a block maps in pieces of it).
        int runsPerBlock = System.Math.Max(1, RescaleTableBlock / chunk);
        for (int o0 = 0; o0 < outer; o0 += runsPerBlock)
        {
            int runs = System.Math.Min(runsPerBlock, outer - o0);
            if (chunk > RescaleTableBlock)
            {
                // One run at a time, in blocks.
                for (int off = 0; off < chunk; off += RescaleTableBlock)
                {
                    int n = System.Math.Min(RescaleTableBlock, chunk - off);
                    TableMap.Map(ref v, ref Unsafe.Add(ref src, o0 * chunk + off), ref m, n);
                    Unsafe.CopyBlockUnaligned(ref Unsafe.Add(ref dst, o0 * outRun + at + off), ref m, (uint)n);
                }
                continue;
            }
            TableMap.Map(ref v, ref Unsafe.Add(ref src, o0 * chunk), ref m, runs * chunk);
            for (int r = 0; r < runs; r++)
                CopyRun(ref Unsafe.Add(ref m, r * chunk), ref Unsafe.Add(ref dst, (o0 + r) * outRun + at), chunk);
        }
        return true;
    }

    /// <summary>
    /// Copies n bytes: runs are often a few tens of bytes (a pixel's channels), where two overlapping moves of the
    /// widest width that fits beat the memmove call.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void CopyRun(ref byte from, ref byte to, int n)
    {
        if (n > 64)
            Unsafe.CopyBlockUnaligned(ref to, ref from, (uint)n);
        else if (n >= 32)
        {
            Vector256.LoadUnsafe(ref from).StoreUnsafe(ref to);
            Vector256.LoadUnsafe(ref from, (nuint)(n - 32)).StoreUnsafe(ref to, (nuint)(n - 32));
        }
        else if (n >= 16)
        {
            Vector128.LoadUnsafe(ref from).StoreUnsafe(ref to);
            Vector128.LoadUnsafe(ref from, (nuint)(n - 16)).StoreUnsafe(ref to, (nuint)(n - 16));
        }
        else if (n >= 8)
        {
            Unsafe.WriteUnaligned(ref to, Unsafe.ReadUnaligned<long>(ref from));
            Unsafe.WriteUnaligned(ref Unsafe.Add(ref to, n - 8), Unsafe.ReadUnaligned<long>(ref Unsafe.Add(ref from, n - 8)));
        }
        else
            for (int i = 0; i < n; i++)
                Unsafe.Add(ref to, i) = Unsafe.Add(ref from, i);
    }

    /// <summary>
    /// The rescaling copy, 16 elements per step: AVX2 (two 8-lane requantizations with the operands
    /// derived once, <see cref="SimdOps256.Requantizer"/>) or portable Vector128 (<see cref="SimdOps"/>,
    /// NEON on arm64); the same arithmetic as <see cref="QuantMath.MultiplyByQuantizedMultiplier"/>.
    /// Returns where the scalar tail starts.
    /// </summary>
    internal static int RescaleVector(ReadOnlySpan<sbyte> src, Span<sbyte> dst, int inputOffset, int multiplier, int shift, int outputOffset)
    {
        int n = src.Length, i = 0;
        ref sbyte s = ref MemoryMarshal.GetReference(src);
        ref sbyte d = ref MemoryMarshal.GetReference(dst);
        if (Avx2.IsSupported)
        {
            var r = new SimdOps256.Requantizer(Vector256.Create(multiplier), Vector256.Create(shift));
            var inOff = Vector256.Create(inputOffset);
            var outOff = Vector256.Create(outputOffset);
            var min = Vector256.Create(-128);
            var max = Vector256.Create(127);
            for (; i <= n - 16; i += 16)
            {
                var v = Vector128.LoadUnsafe(ref s, (nuint)i);
                var lo = r.ApplyClamp(Avx2.ConvertToVector256Int32(v) + inOff, outOff, min, max);
                var hi = r.ApplyClamp(Avx2.ConvertToVector256Int32(Sse2.ShiftRightLogical128BitLane(v, 8)) + inOff, outOff, min, max);
                SimdOps256.Pack16(lo, hi).StoreUnsafe(ref d, (nuint)i);
            }
        }
        else if (Vector128.IsHardwareAccelerated)
        {
            var m = Vector128.Create(multiplier);
            var sh = Vector128.Create(shift);
            var inOff = Vector128.Create(inputOffset);
            var outOff = Vector128.Create(outputOffset);
            var min = Vector128.Create(-128);
            var max = Vector128.Create(127);
            for (; i <= n - 16; i += 16)
            {
                var v = Vector128.LoadUnsafe(ref s, (nuint)i);
                var w0 = Vector128.WidenLower(v);
                var w1 = Vector128.WidenUpper(v);
                SimdOps.Narrow16(
                    SimdOps.RequantizeClamp(Vector128.WidenLower(w0) + inOff, m, sh, outOff, min, max),
                    SimdOps.RequantizeClamp(Vector128.WidenUpper(w0) + inOff, m, sh, outOff, min, max),
                    SimdOps.RequantizeClamp(Vector128.WidenLower(w1) + inOff, m, sh, outOff, min, max),
                    SimdOps.RequantizeClamp(Vector128.WidenUpper(w1) + inOff, m, sh, outOff, min, max)).StoreUnsafe(ref d, (nuint)i);
            }
        }
        return i;
    }
}
