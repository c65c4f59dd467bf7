using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using EdgeQuant.Runtime.Format;
using EdgeQuant.Runtime.Kernels.Simd;

namespace EdgeQuant.Runtime.Kernels;

public static partial class Elementwise
{
    /// <summary>Add/Sub of equal shapes with at least this many elements use <see cref="AddS8Table"/> where AVX2 is available.</summary>
    internal const int AddTableMinElements = 1024;

    /// <summary>Bytes of an Add/Sub table: every (x, y) pair, plus the 3 bytes a 4-byte gather of the last entry reads.</summary>
    internal const int AddTableBytes = 65536 + 16;

    /// <summary>
    /// Precomputes an Add/Sub op's whole function (once per op, outside Eval): an int8 x int8 op has only
    /// 65,536 inputs, so table[(byte)x x 256 + (byte)y] = <see cref="AddOne"/>(x, y), the reference itself,
    /// and a lookup is bit-exact by construction. It replaces the three requantizations per element (about
    /// six vector instructions per element) with a gather. 64 KB per op, so only for ops of
    /// <see cref="AddTableMinElements"/> or more elements of equal shapes, on AVX2 (the gather); else null.
    /// </summary>
    internal static sbyte[]? PrepareAddTable(in ElementwiseParams p, bool subtract, in Shape4 aShape, in Shape4 bShape, in Shape4 outShape)
    {
        if (!Avx2.IsSupported || aShape != outShape || bShape != outShape || outShape.FlatSize < AddTableMinElements)
            return null;
        var table = new sbyte[AddTableBytes];
        for (int x = -128; x < 128; x++)
            for (int y = -128; y < 128; y++)
                table[((x & 0xFF) << 8) | (y & 0xFF)] = AddOne(p, x, y, subtract);
        return table;
    }

    /// <summary>An elementwise int8 kernel over equal-length inputs, checked whole by <see cref="AddsAsAddOneOnEveryPair"/>.</summary>
    internal delegate void PairKernel(ReadOnlySpan<sbyte> x, ReadOnlySpan<sbyte> y, Span<sbyte> output);

    /// <summary>
    /// Whether <paramref name="kernel"/> gives <see cref="AddOne"/> for every (x, y) int8 pair: the whole-function checks of
    /// <see cref="PrepareAddAvx512"/> and <see cref="PrepareAddAffine"/>. 256 calls of 256 pairs each (x fixed, y every
    /// value) on the stack, where the 65,536 pairs at once took 192 KB of arrays per check.
    /// </summary>
    internal static bool AddsAsAddOneOnEveryPair(in ElementwiseParams p, bool subtract, PairKernel kernel)
    {
        Span<sbyte> xs = stackalloc sbyte[256];
        Span<sbyte> ys = stackalloc sbyte[256];
        Span<sbyte> got = stackalloc sbyte[256];
        for (int i = 0; i < 256; i++) ys[i] = (sbyte)i;
        for (int x = -128; x < 128; x++)
        {
            xs.Fill((sbyte)x);
            kernel(xs, ys, got);
            for (int i = 0; i < 256; i++)
                if (got[i] != AddOne(p, x, ys[i], subtract))
                    return false;
        }
        return true;
    }

    /// <summary>
    /// output[i] = table[(byte)a[i] x 256 + (byte)b[i]] (<see cref="PrepareAddTable"/>): 16 elements per step, the
    /// indices formed by VPMOVZXBD, a shift and an OR, each entry read by VPGATHERDD as the low byte of a 4-byte
    /// load, then a scalar tail from the same index.
    /// </summary>
    internal static unsafe void AddS8Table(sbyte[] table, ReadOnlySpan<sbyte> a, ReadOnlySpan<sbyte> b, Span<sbyte> output)
    {
        int n = output.Length, i = 0;
        ref byte ra = ref Unsafe.As<sbyte, byte>(ref MemoryMarshal.GetReference(a));
        ref byte rb = ref Unsafe.As<sbyte, byte>(ref MemoryMarshal.GetReference(b));
        ref sbyte ro = ref MemoryMarshal.GetReference(output);
        fixed (sbyte* t = table)
        {
            if (Avx2.IsSupported)
            {
                for (; i <= n - 16; i += 16)
                {
                    var va = Vector128.LoadUnsafe(ref ra, (nuint)i);
                    var vb = Vector128.LoadUnsafe(ref rb, (nuint)i);
                    var lo = Avx2.ShiftLeftLogical(Avx2.ConvertToVector256Int32(va), 8) | Avx2.ConvertToVector256Int32(vb);
                    var hi = Avx2.ShiftLeftLogical(Avx2.ConvertToVector256Int32(Sse2.ShiftRightLogical128BitLane(va, 8)), 8)
                        | Avx2.ConvertToVector256Int32(Sse2.ShiftRightLogical128BitLane(vb, 8));
                    // Each gathered int32 holds the entry in its low byte: sign-extend it, then narrow (no saturation occurs).
                    var g0 = Avx2.ShiftRightArithmetic(Avx2.ShiftLeftLogical(Avx2.GatherVector256((int*)t, lo, 1), 24), 24);
                    var g1 = Avx2.ShiftRightArithmetic(Avx2.ShiftLeftLogical(Avx2.GatherVector256((int*)t, hi, 1), 24), 24);
                    SimdOps256.Pack16(g0, g1).StoreUnsafe(ref ro, (nuint)i);
                }
            }
            for (; i < n; i++)
                Unsafe.Add(ref ro, i) = t[(Unsafe.Add(ref ra, i) << 8) | Unsafe.Add(ref rb, i)];
        }
    }
}
