using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using EdgeQuant.Runtime.Format;

namespace EdgeQuant.Runtime.Kernels;

/// <summary>Permutes the dimensions of an int8 rank-4 tensor: output dim i is input dim perm[i].</summary>
public static partial class Transpose
{
    /// <summary>
    /// The permutation as a copy: the output dims, each with the input stride it walks, are reduced first (dims of size 1
    /// dropped, neighbours that stay neighbours in the input merged), so that [1, 6, 64, 1] to [1, 64, 6, 1] is one 64 x 6
    /// gather and a permutation that moves only size-1 dims is one block copy. Runs whose input stride is 1 are block
    /// copies; the others a gather, four bytes per step. The same bytes as <see cref="EvalS8Reference"/>.
    /// </summary>
    public static void EvalS8(in TransposeParams p, ReadOnlySpan<sbyte> input, in Shape4 inShape, Span<sbyte> output, in Shape4 outShape)
    {
        int total = inShape.FlatSize;
        if (!IsPermutation(p, inShape, outShape) || input.Length < total || output.Length < total)
            throw new ArgumentException($"transpose of {inShape} to {outShape} by [{p.Perm0}, {p.Perm1}, {p.Perm2}, {p.Perm3}] with {input.Length} input and {output.Length} output elements");
        // Input strides of the output dims, outermost first, after reduction: n dims in the last n slots of size/stride.
        Span<int> inStride = stackalloc int[4];
        inStride[3] = 1;
        for (int d = 2; d >= 0; d--) inStride[d] = inStride[d + 1] * inShape[d + 1];
        Span<int> size = stackalloc int[4];
        Span<int> stride = stackalloc int[4];
        int n = 0;
        for (int i = 0; i < 4; i++)
        {
            int perm = i switch { 0 => p.Perm0, 1 => p.Perm1, 2 => p.Perm2, _ => p.Perm3 };
            int s = inShape[perm];
            if (s == 1) continue;
            // Merge with the previous kept dim when it steps over exactly this one in the input.
            if (n > 0 && stride[n - 1] == inStride[perm] * s)
            {
                size[n - 1] *= s;
                stride[n - 1] = inStride[perm];
                continue;
            }
            size[n] = s;
            stride[n] = inStride[perm];
            n++;
        }
        if (total == 0) return;
        ref sbyte src = ref MemoryMarshal.GetReference(input);
        ref sbyte dst = ref MemoryMarshal.GetReference(output);
        if (n <= 1)
        {
            // Nothing moves (or one dim with stride 1, since the element count matches).
            input.Slice(0, total).CopyTo(output);
            return;
        }
        // Right-aligned in 4 slots: the outer slots get size 1.
        int s0 = 1, s1 = 1, s2 = size[n - 2], s3 = size[n - 1];
        int t0 = 0, t1 = 0, t2 = stride[n - 2], t3 = stride[n - 1];
        if (n >= 3) { s1 = size[n - 3]; t1 = stride[n - 3]; }
        if (n == 4) { s0 = size[0]; t0 = stride[0]; }
        if (n == 2 && t2 == 1)
        {
            // A matrix transpose (s3 rows of s2 bytes to s2 rows of s3): each input row read in order, its bytes stored s3 apart.
            for (int r = 0; r < s3; r++)
                Scatter(ref Unsafe.Add(ref src, r * t3), ref Unsafe.Add(ref dst, r), s3, s2);
            return;
        }
        int o = 0;
        for (int a = 0; a < s0; a++)
            for (int b = 0; b < s1; b++)
                for (int c = 0; c < s2; c++)
                {
                    ref sbyte from = ref Unsafe.Add(ref src, a * t0 + b * t1 + c * t2);
                    ref sbyte to = ref Unsafe.Add(ref dst, o);
                    if (t3 == 1)
                        Unsafe.CopyBlockUnaligned(ref Unsafe.As<sbyte, byte>(ref to), ref Unsafe.As<sbyte, byte>(ref from), (uint)s3);
                    else
                        Gather(ref from, t3, ref to, s3);
                    o += s3;
                }
    }

    /// <summary>Whether the record is a permutation of 0..3 that maps <paramref name="inShape"/> onto <paramref name="outShape"/>.</summary>
    private static bool IsPermutation(in TransposeParams p, in Shape4 inShape, in Shape4 outShape)
    {
        int seen = 0;
        for (int d = 0; d < 4; d++)
        {
            int perm = d switch { 0 => p.Perm0, 1 => p.Perm1, 2 => p.Perm2, _ => p.Perm3 };
            if ((uint)perm > 3 || (seen & (1 << perm)) != 0 || outShape[d] != inShape[perm]) return false;
            seen |= 1 << perm;
        }
        return true;
    }

    /// <summary>to[i x step] = from[i] for i in [0, count).</summary>
    private static void Scatter(ref sbyte from, ref sbyte to, int step, int count)
    {
        int i = 0;
        nint k = 0;
        for (; i + 4 <= count; i += 4, k += 4 * (nint)step)
        {
            uint v = Unsafe.ReadUnaligned<uint>(ref Unsafe.As<sbyte, byte>(ref Unsafe.Add(ref from, i)));
            Unsafe.Add(ref to, k) = (sbyte)v;
            Unsafe.Add(ref to, k + step) = (sbyte)(v >> 8);
            Unsafe.Add(ref to, k + 2 * (nint)step) = (sbyte)(v >> 16);
            Unsafe.Add(ref to, k + 3 * (nint)step) = (sbyte)(v >> 24);
        }
        for (; i < count; i++, k += step)
            Unsafe.Add(ref to, k) = Unsafe.Add(ref from, i);
    }

    /// <summary>to[i] = from[i x step] for i in [0, count).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Gather(ref sbyte from, int step, ref sbyte to, int count)
    {
        int i = 0;
        nint k = 0;
        for (; i + 4 <= count; i += 4, k += 4 * (nint)step)
        {
            uint v = (byte)Unsafe.Add(ref from, k)
                | (uint)(byte)Unsafe.Add(ref from, k + step) << 8
                | (uint)(byte)Unsafe.Add(ref from, k + 2 * (nint)step) << 16
                | (uint)(byte)Unsafe.Add(ref from, k + 3 * (nint)step) << 24;
            Unsafe.WriteUnaligned(ref Unsafe.As<sbyte, byte>(ref Unsafe.Add(ref to, i)), v);
        }
        for (; i < count; i++, k += step)
            Unsafe.Add(ref to, i) = Unsafe.Add(ref from, k);
    }
}
