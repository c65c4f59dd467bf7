using System.Runtime.InteropServices;
using EdgeQuant.Runtime.Format;
using EdgeQuant.Runtime.Math;

namespace EdgeQuant.Runtime.Kernels;

/// <summary>
/// One LSTM or GRU layer over an int8 sequence x [T, B, I] (the rank-4 view [T, B, I, 1]), writing
/// the int8 hidden states Y [T, D, B, H] (D = 2 when bidirectional: direction 0 runs forward, 1 in
/// reverse). Per step and gate row: the input part bias_x + Σ (x + input_offset) × W and the recurrent
/// part bias_h + Σ h × R (h in Q0.15) are each rescaled by the row's multiplier to Q3.12 and saturated
/// to int16; their saturated sum goes through <see cref="GateMath"/>. The state starts at zero.
/// LSTM (gates i, o, f, c): c' = sat16(rdiv(f c, 15) + rdiv(i g, 30 - cell_shift)),
/// h' = rdiv(o tanh(c' as Q3.12), 15). GRU (gates z, r, h): the candidate n = tanh(x part +
/// r ⊙ recurrent part) with linear_before_reset, else tanh(x part + R (r ⊙ h)) with r ⊙ h rounded to
/// Q0.15 first; h' = sat16(n + rdiv(z (h - n), 15)). rdiv is <see cref="QuantMath.RoundingDivideByPOT"/>.
/// Y = clamp(MultiplyByQuantizedMultiplier(h', output multiplier, shift) + output_offset).
/// </summary>
public static partial class Recurrent
{
    /// <summary>Scratch bytes of one op: int16 gate parts x and h (G × H each), then h, c and r ⊙ h (H each).</summary>
    public static int ScratchBytes(int gates, int hidden) => 2 * ((2 * gates * hidden) + (3 * hidden));

    /// <summary>The definition of Lstm (<paramref name="lstm"/>) and Gru: scalar dot products.</summary>
    public static void EvalS8Reference(bool lstm, in RecurrentParams p, ReadOnlySpan<sbyte> x, in Shape4 xShape,
        ReadOnlySpan<sbyte> w, ReadOnlySpan<sbyte> r, ReadOnlySpan<int> bias,
        ReadOnlySpan<int> inputMultipliers, ReadOnlySpan<int> inputShifts, ReadOnlySpan<int> recurrentMultipliers, ReadOnlySpan<int> recurrentShifts,
        Span<sbyte> y, Span<byte> scratch)
        => Run<ScalarDot>(lstm, p, x, xShape, MemoryMarshal.AsBytes(w), MemoryMarshal.AsBytes(r), bias, default,
            inputMultipliers, inputShifts, recurrentMultipliers, recurrentShifts, y, scratch);

    /// <summary>
    /// The definition of LstmPacked and GruPacked (ops 25, 26): int4 W and R rows (two weights per byte, low
    /// nibble first, each gate row starting on a byte: docs/format.md 5.10) decoded where they are used, the
    /// int32 <paramref name="bias"/> added before each part's rescale (zero as the converter writes these ops)
    /// and the Q3.12 <paramref name="postBias"/> [D, 2, G×H] added after it: part = sat16(sat16(rescaled) + post).
    /// </summary>
    public static void EvalS8Int4Reference(bool lstm, in RecurrentParams p, ReadOnlySpan<sbyte> x, in Shape4 xShape,
        ReadOnlySpan<byte> w, ReadOnlySpan<byte> r, ReadOnlySpan<int> bias, ReadOnlySpan<int> postBias,
        ReadOnlySpan<int> inputMultipliers, ReadOnlySpan<int> inputShifts, ReadOnlySpan<int> recurrentMultipliers, ReadOnlySpan<int> recurrentShifts,
        Span<sbyte> y, Span<byte> scratch)
        => Run<Int4Dot<ScalarDot>>(lstm, p, x, xShape, w, r, bias, postBias, inputMultipliers, inputShifts, recurrentMultipliers, recurrentShifts, y, scratch);

    /// <summary>The two dot products a step needs; the paths differ only here, never in the arithmetic around them.</summary>
    internal interface IDot
    {
        /// <summary>Bytes of one stored weight row of <paramref name="n"/> weights.</summary>
        int RowBytes(int n);

        /// <summary>Σ (x[i] + offset) × w[i] over the stored row <paramref name="w"/>.</summary>
        int Input(ReadOnlySpan<sbyte> x, int offset, ReadOnlySpan<byte> w);

        /// <summary>Σ h[j] × w[j] over the stored row <paramref name="w"/>.</summary>
        int State(ReadOnlySpan<short> h, ReadOnlySpan<byte> w);
    }

    /// <summary>int8 rows, one weight per byte.</summary>
    private struct ScalarDot : IDot
    {
        public readonly int RowBytes(int n) => n;

        public readonly int Input(ReadOnlySpan<sbyte> x, int offset, ReadOnlySpan<byte> w)
        {
            int acc = 0;
            for (int i = 0; i < x.Length; i++) acc += (x[i] + offset) * (sbyte)w[i];
            return acc;
        }

        public readonly int State(ReadOnlySpan<short> h, ReadOnlySpan<byte> w)
        {
            int acc = 0;
            for (int j = 0; j < h.Length; j++) acc += h[j] * (sbyte)w[j];
            return acc;
        }
    }

    /// <summary>
    /// int4 rows: each chunk of up to <see cref="Int4Chunk"/> weights is decoded into a stack buffer and summed
    /// by the int8 dot <typeparamref name="TInner"/>. The int32 sums wrap as one sum does, so any chunking gives
    /// the same total.
    /// </summary>
    private struct Int4Dot<TInner> : IDot where TInner : struct, IDot
    {
        public readonly int RowBytes(int n) => (n + 1) >> 1;

        public readonly int Input(ReadOnlySpan<sbyte> x, int offset, ReadOnlySpan<byte> w)
        {
            Span<byte> buf = stackalloc byte[Int4Chunk];
            var inner = default(TInner);
            int acc = 0;
            for (int start = 0; start < x.Length; start += Int4Chunk)
            {
                int n = System.Math.Min(Int4Chunk, x.Length - start);
                DecodeInt4(w.Slice(start >> 1), buf.Slice(0, n));
                acc = unchecked(acc + inner.Input(x.Slice(start, n), offset, buf.Slice(0, n)));
            }
            return acc;
        }

        public readonly int State(ReadOnlySpan<short> h, ReadOnlySpan<byte> w)
        {
            Span<byte> buf = stackalloc byte[Int4Chunk];
            var inner = default(TInner);
            int acc = 0;
            for (int start = 0; start < h.Length; start += Int4Chunk)
            {
                int n = System.Math.Min(Int4Chunk, h.Length - start);
                DecodeInt4(w.Slice(start >> 1), buf.Slice(0, n));
                acc = unchecked(acc + inner.State(h.Slice(start, n), buf.Slice(0, n)));
            }
            return acc;
        }
    }

    /// <summary>Weights decoded per int4 chunk (even, so every chunk starts on a byte).</summary>
    internal const int Int4Chunk = 256;

    /// <summary>The first <c>values.Length</c> int4 weights of <paramref name="packed"/> as int8 bytes (element 2i the low nibble).</summary>
    internal static void DecodeInt4(ReadOnlySpan<byte> packed, Span<byte> values)
    {
        int n = values.Length, i = 0;
        for (; i + 1 < n; i += 2)
        {
            int b = packed[i >> 1];
            values[i] = (byte)(((b & 0xF) ^ 8) - 8);
            values[i + 1] = (byte)(((b >> 4) ^ 8) - 8);
        }
        if (i < n) values[i] = (byte)(((packed[i >> 1] & 0xF) ^ 8) - 8);
    }

    internal static void Run<TDot>(bool lstm, in RecurrentParams p, ReadOnlySpan<sbyte> x, in Shape4 xShape,
        ReadOnlySpan<byte> w, ReadOnlySpan<byte> r, ReadOnlySpan<int> bias, ReadOnlySpan<int> postBias,
        ReadOnlySpan<int> inputMultipliers, ReadOnlySpan<int> inputShifts, ReadOnlySpan<int> recurrentMultipliers, ReadOnlySpan<int> recurrentShifts,
        Span<sbyte> y, Span<byte> scratch) where TDot : struct, IDot
    {
        var dot = default(TDot);
        int steps = xShape.D0, batch = xShape.D1, inputs = xShape.D2;
        int hidden = p.HiddenSize, gates = lstm ? 4 : 3, rows = gates * hidden;
        int directions = p.Direction == 2 ? 2 : 1;
        var s16 = MemoryMarshal.Cast<byte, short>(scratch);
        var gx = s16.Slice(0, rows);
        var gh = s16.Slice(rows, rows);
        var h = s16.Slice(2 * rows, hidden);
        var c = s16.Slice((2 * rows) + hidden, hidden);
        var rh = s16.Slice((2 * rows) + (2 * hidden), hidden);
        // LSTM and GRU with linear_before_reset take every recurrent row over h; plain GRU computes its
        // candidate rows over r ⊙ h once the reset gate is known.
        int stateRows = lstm || p.LinearBeforeReset != 0 ? rows : 2 * hidden;
        for (int dir = 0; dir < directions; dir++)
        {
            bool reverse = p.Direction == 1 || dir == 1;
            int wRow = dot.RowBytes(inputs), rRow = dot.RowBytes(hidden);
            var wd = w.Slice(dir * rows * wRow, rows * wRow);
            var rd = r.Slice(dir * rows * rRow, rows * rRow);
            var bx = bias.Slice(dir * 2 * rows, rows);
            var bh = bias.Slice((dir * 2 * rows) + rows, rows);
            bool post = !postBias.IsEmpty;
            var px = post ? postBias.Slice(dir * 2 * rows, rows) : default;
            var ph = post ? postBias.Slice((dir * 2 * rows) + rows, rows) : default;
            var mx = inputMultipliers.Slice(dir * rows, rows);
            var sx = inputShifts.Slice(dir * rows, rows);
            var mh = recurrentMultipliers.Slice(dir * rows, rows);
            var sh = recurrentShifts.Slice(dir * rows, rows);
            for (int b = 0; b < batch; b++)
            {
                h.Clear();
                c.Clear();
                for (int s = 0; s < steps; s++)
                {
                    int t = reverse ? steps - 1 - s : s;
                    var xt = x.Slice(((t * batch) + b) * inputs, inputs);
                    for (int row = 0; row < rows; row++)
                        gx[row] = Part(QuantMath.MultiplyByQuantizedMultiplier(
                            unchecked(bx[row] + dot.Input(xt, p.InputOffset, wd.Slice(row * wRow, wRow))), mx[row], sx[row]), post ? px[row] : 0);
                    for (int row = 0; row < stateRows; row++)
                        gh[row] = Part(QuantMath.MultiplyByQuantizedMultiplier(
                            unchecked(bh[row] + dot.State(h, rd.Slice(row * rRow, rRow))), mh[row], sh[row]), post ? ph[row] : 0);
                    if (lstm)
                    {
                        LstmCell(gx, gh, h, c, hidden, p.CellShift);
                    }
                    else
                    {
                        if (p.LinearBeforeReset == 0)
                        {
                            for (int j = 0; j < hidden; j++)
                                rh[j] = (short)QuantMath.RoundingDivideByPOT(GateMath.Sigmoid(gx[hidden + j] + gh[hidden + j]) * h[j], GateMath.StateFractionBits);
                            for (int row = 2 * hidden; row < rows; row++)
                                gh[row] = Part(QuantMath.MultiplyByQuantizedMultiplier(
                                    unchecked(bh[row] + dot.State(rh, rd.Slice(row * rRow, rRow))), mh[row], sh[row]), post ? ph[row] : 0);
                        }

                        GruCell(gx, gh, h, hidden, p.LinearBeforeReset != 0);
                    }

                    var yt = y.Slice((((t * directions) + dir) * batch + b) * hidden, hidden);
                    for (int j = 0; j < hidden; j++)
                        yt[j] = (sbyte)System.Math.Clamp(QuantMath.MultiplyByQuantizedMultiplier(h[j], p.OutputMultiplier, p.OutputShift) + p.OutputOffset, -128, 127);
                }
            }
        }
    }

    /// <summary>A gate part in Q3.12: the rescaled sum saturated to int16, plus the post-rescale bias (0 for ops 23-24), saturated again.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private static short Part(int rescaled, int post) => (short)GateMath.Saturate16(GateMath.Saturate16(rescaled) + post);

    /// <summary>One LSTM step from the gate parts (rows i, o, f, c): updates c and h in place.</summary>
    private static void LstmCell(ReadOnlySpan<short> gx, ReadOnlySpan<short> gh, Span<short> h, Span<short> c, int hidden, int cellShift)
    {
        for (int j = 0; j < hidden; j++)
        {
            int i = GateMath.Sigmoid(gx[j] + gh[j]);
            int o = GateMath.Sigmoid(gx[hidden + j] + gh[hidden + j]);
            int f = GateMath.Sigmoid(gx[(2 * hidden) + j] + gh[(2 * hidden) + j]);
            int g = GateMath.Tanh(gx[(3 * hidden) + j] + gh[(3 * hidden) + j]);
            int cell = GateMath.Saturate16(QuantMath.RoundingDivideByPOT(f * c[j], GateMath.StateFractionBits)
                + QuantMath.RoundingDivideByPOT(i * g, (2 * GateMath.StateFractionBits) - cellShift));
            c[j] = (short)cell;
            int q312 = cellShift >= GateMath.GateFractionBits
                ? QuantMath.RoundingDivideByPOT(cell, cellShift - GateMath.GateFractionBits)
                : GateMath.Saturate16(cell << (GateMath.GateFractionBits - cellShift));
            h[j] = (short)QuantMath.RoundingDivideByPOT(o * GateMath.Tanh(q312), GateMath.StateFractionBits);
        }
    }

    /// <summary>One GRU step from the gate parts (rows z, r, h; the h rows of gh over r ⊙ h unless linear before reset): updates h in place.</summary>
    private static void GruCell(ReadOnlySpan<short> gx, ReadOnlySpan<short> gh, Span<short> h, int hidden, bool linearBeforeReset)
    {
        for (int j = 0; j < hidden; j++)
        {
            int z = GateMath.Sigmoid(gx[j] + gh[j]);
            int candidate;
            if (linearBeforeReset)
            {
                int reset = GateMath.Sigmoid(gx[hidden + j] + gh[hidden + j]);
                candidate = gx[(2 * hidden) + j] + QuantMath.RoundingDivideByPOT(reset * gh[(2 * hidden) + j], GateMath.StateFractionBits);
            }
            else
            {
                candidate = gx[(2 * hidden) + j] + gh[(2 * hidden) + j];
            }

            int n = GateMath.Tanh(candidate);
            h[j] = (short)GateMath.Saturate16(n + QuantMath.RoundingDivideByPOT(z * (h[j] - n), GateMath.StateFractionBits));
        }
    }
}
