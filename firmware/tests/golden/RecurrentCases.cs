using EdgeQuant.Runtime.Format;
using EdgeQuant.Runtime.Math;
using K = EdgeQuant.Runtime.Kernels;

namespace EdgeQuant.Firmware.Golden;

/// <summary>
/// One-op cases of the recurrent ops 23-26 (docs/format.md 6.3, 6.3.1): Lstm and Gru with int8 weights, LstmPacked
/// and GruPacked with int4 weights and the packed per-row record. Random steps (1-6), batches (1-2), input sizes
/// (1-40, odd ones so int4 rows end in a half byte) and hidden sizes cycling through 1-40 (20 and 40 included);
/// every direction (forward, reverse, bidirectional), both GRU reset forms, every LSTM cell shift 8-15.
/// Per-row multipliers are scaled so the gate pre-activations spread over the tables' range; about one case in
/// five takes extreme multipliers and shifts (0, 2^30, 2^31-1, shifts -31 and 30: saturated parts and gates).
/// Random input bytes. Expected outputs: the C# Interpreter with ReferenceKernelsOnly (Recurrent.EvalS8Reference /
/// EvalS8Int4Reference).
/// </summary>
internal static class RecurrentCases
{
    private static readonly int[] Hidden = [1, 3, 20, 4, 40, 7, 2, 16, 5, 33];
    private static readonly int[] Inputs = [1, 2, 3, 5, 8, 13, 20, 33, 40, 9];

    /// <summary>Per-row multipliers and shifts: converter-style around <paramref name="real"/> (randomly 0.3x-3x), or extreme ones in an extreme case.</summary>
    private static (int[] M, int[] S) Rows(Random r, int n, double real, bool extreme, bool packed)
    {
        var m = new int[n];
        var s = new int[n];
        for (int i = 0; i < n; i++)
        {
            (m[i], s[i]) = extreme ? Cases.Requant(r, real) : QuantMath.QuantizeMultiplier(real * (0.3 + (2.7 * r.NextDouble())));
            if (packed) (m[i], s[i]) = PackedRequant.Round16(m[i], s[i]);
        }
        return (m, s);
    }

    public static ModelWriter Recurrent(Random r, int index, bool lstm, bool packed)
    {
        int gates = lstm ? 4 : 3;
        int hidden = Hidden[index % Hidden.Length], inputs = Inputs[(index * 3 + 1) % Inputs.Length];
        int steps = 1 + r.Next(6), batch = 1 + r.Next(2), direction = index % 3;
        if (hidden >= 20 && steps > 3) steps = 3;
        int dirs = direction == 2 ? 2 : 1, rows = gates * hidden;
        int lbr = lstm ? 0 : (index / 3) % 2;
        int cellShift = lstm ? 8 + (index % 8) : 0;
        bool extreme = r.Next(5) == 0;
        var w = new ModelWriter { SmallDataAlignment = 4 };
        float sx = Cases.Scale(r, 0.01, 0.1), sy = Cases.Scale(r, 1.0 / 255, 4.0 / 255);
        int zx = r.Next(-20, 21), zy = r.Next(-10, 11);
        int x = w.AddActivation(TensorType.Int8, [steps, batch, inputs], w.AddQuantization([sx], zx));
        int y = w.AddActivation(TensorType.Int8, [steps, dirs, batch, hidden], w.AddQuantization([sy], zy));
        // Typical |Σ| of a row: sqrt(n) × E|operand| × E|weight|; the multiplier maps it to about 2 in Q3.12 (8192).
        double wMag = packed ? 4 : 64;
        var (mx, shx) = Rows(r, dirs * rows, 8192 / (Math.Sqrt(inputs) * 74 * wMag), extreme, packed);
        var (mh, shh) = Rows(r, dirs * rows, 8192 / (Math.Sqrt(hidden) * 16000 * wMag), extreme, packed);
        var (om, os) = QuantMath.QuantizeMultiplier(1.0 / 32768 / sy);
        if (extreme && r.Next(2) == 0) (om, os) = Cases.Requant(r, 1.0 / 32768 / sy);
        int scratch = K.Recurrent.ScratchBytes(gates, hidden) + (r.Next(4) == 0 ? 16 * r.Next(1, 4) : 0);
        OpType op;
        if (packed)
        {
            int n = dirs * rows;
            var wValues = new int[n * inputs];
            var rValues = new int[n * hidden];
            for (int i = 0; i < wValues.Length; i++) wValues[i] = r.Next(-8, 8);
            for (int i = 0; i < rValues.Length; i++) rValues[i] = r.Next(-8, 8);
            var post = new int[2 * n];
            for (int i = 0; i < post.Length; i++) post[i] = extreme && r.Next(4) == 0 ? (r.Next(2) == 0 ? short.MinValue : short.MaxValue) : r.Next(-12000, 12000);
            (om, os) = PackedRequant.Round16(om, os);
            var record = PackedRecurrent.Encode(post, mx, shx, mh, shh);
            int wt = w.AddConstantEncoded(TensorType.Int4, [n, inputs], PackInt4(wValues, n, inputs), -1);
            int rt = w.AddConstantEncoded(TensorType.Int4, [n, hidden], PackInt4(rValues, n, hidden), -1);
            op = lstm ? OpType.LstmPacked : OpType.GruPacked;
            w.AddOp(op, [x, wt, rt], [y], new RecurrentPackedParams
            {
                HiddenSize = (short)hidden, Direction = (byte)direction, LinearBeforeReset = (byte)lbr,
                InputOffset = (short)-zx, OutputOffset = (short)zy, OutputMultiplier16 = (ushort)(om >> 15), OutputShift = (sbyte)os,
                CellShift = (sbyte)cellShift, RequantOffset = w.AddSmallConstantData(record),
            }, scratch);
        }
        else
        {
            var wData = new sbyte[dirs * rows * inputs];
            var rData = new sbyte[dirs * rows * hidden];
            var bData = new int[dirs * 2 * rows];
            for (int i = 0; i < wData.Length; i++) wData[i] = (sbyte)r.Next(-127, 128);
            for (int i = 0; i < rData.Length; i++) rData[i] = (sbyte)r.Next(-127, 128);
            for (int i = 0; i < bData.Length; i++) bData[i] = extreme && r.Next(4) == 0 ? (r.Next(2) == 0 ? int.MinValue + r.Next(100) : int.MaxValue - r.Next(100)) : r.Next(-20000, 20000);
            int wt = w.AddConstant<sbyte>(TensorType.Int8, [dirs, rows, inputs], wData, w.AddQuantization([0.01f], 0));
            int rt = w.AddConstant<sbyte>(TensorType.Int8, [dirs, rows, hidden], rData, w.AddQuantization([0.02f], 0));
            int bt = w.AddConstant<int>(TensorType.Int32, [dirs, 2, rows], bData, -1);
            op = lstm ? OpType.Lstm : OpType.Gru;
            w.AddOp(op, [x, wt, rt, bt], [y], new RecurrentParams
            {
                HiddenSize = hidden, Direction = direction, InputOffset = -zx, OutputOffset = zy, OutputMultiplier = om, OutputShift = os,
                CellShift = cellShift, LinearBeforeReset = lbr,
                InputMultipliersOffset = w.AddConstantData<int>(mx), InputShiftsOffset = w.AddConstantData<int>(shx),
                RecurrentMultipliersOffset = w.AddConstantData<int>(mh), RecurrentShiftsOffset = w.AddConstantData<int>(shh),
            }, scratch);
        }
        w.AddInput("x", x);
        w.AddOutput("y", y);
        return w;
    }

    /// <summary>int4 values row by row (docs/format.md 5.10): each row starts on a byte, element 2i in the low nibble.</summary>
    private static byte[] PackInt4(int[] values, int rows, int per)
    {
        int rowBytes = (per + 1) / 2;
        var packed = new byte[rows * rowBytes];
        for (int row = 0; row < rows; row++)
            for (int i = 0; i < per; i++)
                packed[(row * rowBytes) + (i >> 1)] |= (byte)((values[(row * per) + i] & 15) << ((i & 1) * 4));
        return packed;
    }
}
