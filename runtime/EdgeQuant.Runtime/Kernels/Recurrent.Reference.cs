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
        => Run<ScalarDot>(lstm, p, x, xShape, w, r, bias, inputMultipliers, inputShifts, recurrentMultipliers, recurrentShifts, y, scratch);

    /// <summary>The two dot products a step needs; the paths differ only here, never in the arithmetic around them.</summary>
    internal interface IDot
    {
        /// <summary>Σ (x[i] + offset) × w[i].</summary>
        int Input(ReadOnlySpan<sbyte> x, int offset, ReadOnlySpan<sbyte> w);

        /// <summary>Σ h[j] × w[j].</summary>
        int State(ReadOnlySpan<short> h, ReadOnlySpan<sbyte> w);
    }

    private struct ScalarDot : IDot
    {
        public readonly int Input(ReadOnlySpan<sbyte> x, int offset, ReadOnlySpan<sbyte> w)
        {
            int acc = 0;
            for (int i = 0; i < x.Length; i++) acc += (x[i] + offset) * w[i];
            return acc;
        }

        public readonly int State(ReadOnlySpan<short> h, ReadOnlySpan<sbyte> w)
        {
            int acc = 0;
            for (int j = 0; j < h.Length; j++) acc += h[j] * w[j];
            return acc;
        }
    }

    internal static void Run<TDot>(bool lstm, in RecurrentParams p, ReadOnlySpan<sbyte> x, in Shape4 xShape,
        ReadOnlySpan<sbyte> w, ReadOnlySpan<sbyte> r, ReadOnlySpan<int> bias,
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
            var wd = w.Slice(dir * rows * inputs, rows * inputs);
            var rd = r.Slice(dir * rows * hidden, rows * hidden);
            var bx = bias.Slice(dir * 2 * rows, rows);
            var bh = bias.Slice((dir * 2 * rows) + rows, rows);
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
                        gx[row] = (short)GateMath.Saturate16(QuantMath.MultiplyByQuantizedMultiplier(
                            unchecked(bx[row] + dot.Input(xt, p.InputOffset, wd.Slice(row * inputs, inputs))), mx[row], sx[row]));
                    for (int row = 0; row < stateRows; row++)
                        gh[row] = (short)GateMath.Saturate16(QuantMath.MultiplyByQuantizedMultiplier(
                            unchecked(bh[row] + dot.State(h, rd.Slice(row * hidden, hidden))), mh[row], sh[row]));
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
                                gh[row] = (short)GateMath.Saturate16(QuantMath.MultiplyByQuantizedMultiplier(
                                    unchecked(bh[row] + dot.State(rh, rd.Slice(row * hidden, hidden))), mh[row], sh[row]));
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
