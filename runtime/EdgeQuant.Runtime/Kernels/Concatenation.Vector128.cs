using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using EdgeQuant.Runtime.Kernels.Simd;
using EdgeQuant.Runtime.Math;

namespace EdgeQuant.Runtime.Kernels;

public static partial class Concatenation
{
    /// <summary>Input bytes mapped per block of <see cref="MapRuns"/> (a stack buffer).</summary>
    private const int MapBlock = 4096;

    /// <summary>
    /// table[(byte)x] = the rescaling of x, for all 256 int8 values, by <see cref="RescaleVector"/> (the same arithmetic
    /// as the reference): the rescaled value depends only on the int8 input.
    /// </summary>
    [SkipLocalsInit] // all 256 values are written
    internal static void RescaleValues(Span<sbyte> table, int inputOffset, int multiplier, int shift, int outputOffset)
    {
        Span<sbyte> all = stackalloc sbyte[256];
        for (int k = 0; k < 256; k++) all[k] = (sbyte)k; // byte k: the int8 value (sbyte)k, at index k
        RescaleVector(all, table, inputOffset, multiplier, shift, outputOffset);
    }

    /// <summary>
    /// One input through its 256 rescaled values (<paramref name="table"/>[(byte)x] is x's result): <paramref name="outer"/>
    /// contiguous runs of <paramref name="chunk"/> bytes, run o to o x <paramref name="outRun"/> + <paramref name="at"/> of the
    /// output. With AVX-512 VBMI each run is mapped straight to its place (two VPERMI2B per 64 bytes; a run under 64 bytes
    /// by masked load and store); on arm64 (TBL and three TBX per 16) the input is mapped in blocks of whole runs (a run
    /// longer than a block in pieces of it), then each run is copied to its place; elsewhere byte by byte.
    /// </summary>
    [SkipLocalsInit] // every mapped byte is written before it is copied out
    internal static unsafe void MapRuns(ReadOnlySpan<sbyte> table, ReadOnlySpan<sbyte> input, Span<sbyte> output, int outer, int chunk, int outRun, int at)
    {
        // Every run's bytes in range (what slices would check per run), then the lookups without per-run slicing.
        if (table.Length < 256 || input.Length < outer * chunk || output.Length < (outer - 1) * outRun + at + chunk)
            throw new ArgumentException($"concatenation input of {input.Length} or output of {output.Length} elements is shorter than its shape");
        ref sbyte src = ref MemoryMarshal.GetReference(input);
        ref sbyte dst = ref MemoryMarshal.GetReference(output);
        ref sbyte t = ref MemoryMarshal.GetReference(table);
        if (!TableMap.IsSupported)
        {
            for (int o = 0; o < outer; o++)
            {
                ref sbyte from = ref Unsafe.Add(ref src, o * chunk);
                ref sbyte to = ref Unsafe.Add(ref dst, o * outRun + at);
                for (int k = 0; k < chunk; k++)
                    Unsafe.Add(ref to, k) = Unsafe.Add(ref t, (byte)Unsafe.Add(ref from, k));
            }
            return;
        }
        ref byte v = ref Unsafe.As<sbyte, byte>(ref t);
        if (Avx512Vbmi.IsSupported)
        {
            // Each run straight from the input to its place: runs under 64 bytes by one masked load, VPERMI2B pair and masked
            // store each, longer ones by TableMap. Mapping a block into a stack buffer and then copying its runs out read
            // the buffer right after its 64-byte stores at other offsets (stalls on store forwarding: fashion_resnet's
            // 49 runs of 60 bytes took 0.31 us).
            if (chunk < 64)
            {
                var t0 = Vector512.LoadUnsafe(ref v);
                var t1 = Vector512.LoadUnsafe(ref v, 64);
                var t2 = Vector512.LoadUnsafe(ref v, 128);
                var t3 = Vector512.LoadUnsafe(ref v, 192);
                var mask = Vector512.LessThan(Vector512<byte>.Indices, Vector512.Create((byte)chunk));
                fixed (sbyte* from = input, to = output)
                    for (int o = 0; o < outer; o++)
                        Avx512BW.MaskStore((byte*)to + (nint)o * outRun + at, mask,
                            SimdOps512.Map64(Avx512BW.MaskLoad((byte*)from + (nint)o * chunk, mask, Vector512<byte>.Zero), t0, t1, t2, t3));
            }
            else
            {
                for (int o = 0; o < outer; o++)
                    TableMap.Map(ref v, ref Unsafe.As<sbyte, byte>(ref Unsafe.Add(ref src, o * chunk)),
                        ref Unsafe.As<sbyte, byte>(ref Unsafe.Add(ref dst, o * outRun + at)), chunk);
            }
            return;
        }
        Span<sbyte> mapped = stackalloc sbyte[MapBlock];
        ref sbyte m = ref MemoryMarshal.GetReference(mapped);
        int runsPerBlock = System.Math.Max(1, MapBlock / chunk);
        for (int o0 = 0; o0 < outer; o0 += runsPerBlock)
        {
            if (chunk > MapBlock)
            {
                // One run at a time, in blocks.
                for (int off = 0; off < chunk; off += MapBlock)
                {
                    int n = System.Math.Min(MapBlock, chunk - off);
                    TableMap.Map(ref v, ref Unsafe.As<sbyte, byte>(ref Unsafe.Add(ref src, o0 * chunk + off)), ref Unsafe.As<sbyte, byte>(ref m), n);
                    Conv2D.Copy(ref m, ref Unsafe.Add(ref dst, o0 * outRun + at + off), n);
                }
                continue;
            }
            int runs = System.Math.Min(runsPerBlock, outer - o0);
            TableMap.Map(ref v, ref Unsafe.As<sbyte, byte>(ref Unsafe.Add(ref src, o0 * chunk)), ref Unsafe.As<sbyte, byte>(ref m), runs * chunk);
            for (int r = 0; r < runs; r++)
                Conv2D.Copy(ref Unsafe.Add(ref m, r * chunk), ref Unsafe.Add(ref dst, (o0 + r) * outRun + at), chunk);
        }
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
