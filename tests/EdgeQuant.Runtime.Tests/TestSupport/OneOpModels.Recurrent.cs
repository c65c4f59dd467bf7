using EdgeQuant.Runtime.Format;
using K = EdgeQuant.Runtime.Kernels;

namespace EdgeQuant.Runtime.Tests.TestSupport;

// One-op models of the ops 22-29 (ArgMax and the recurrent ops).
internal static partial class OneOpModels
{
    /// <summary>ArgMax over dimension 1 of [2, 5, 3, 1] -> [2, 1, 3, 1], output scale 1 and zero point -128.</summary>
    public static OneOpCase ArgMax(Func<ArgMaxParams, ArgMaxParams>? tweak = null, int[]? outDims = null, float outScale = 1f)
    {
        var w = new ModelWriter();
        int x = w.AddActivation(TensorType.Int8, [2, 5, 3, 1], w.AddQuantization([0.1f], 4));
        int y = w.AddActivation(TensorType.Int8, outDims ?? [2, 1, 3, 1], w.AddQuantization([outScale], -128));
        var p = new ArgMaxParams { Axis = 1, SelectLastIndex = 0, OutputOffset = -128 };
        if (tweak is not null) p = tweak(p);
        w.AddOp(OpType.ArgMax, [x], [y], p);
        w.AddInput("x", x);
        w.AddOutput("y", y);
        return new OneOpCase(OpType.ArgMax, w.Build(), inputs =>
        {
            var output = new sbyte[6];
            K.ArgMax.EvalS8Reference(p, S8(inputs[0]), new(2, 5, 3, 1), output);
            return Bytes(output);
        });
    }

    /// <summary>
    /// Lstm (bidirectional, H 4) or Gru (forward, linear_before_reset, H 3) over x [3, 2, 5]:
    /// seeded int8 weights and biases, per-row multipliers from plausible scales.
    /// </summary>
    public static OneOpCase Recurrent(bool lstm, Func<RecurrentParams, RecurrentParams>? tweak = null, int[]? outDims = null, int? scratch = null,
        int direction = -1, int linearBeforeReset = 1)
    {
        var r = new Random(lstm ? 71 : 73);
        int steps = 3, batch = 2, inputs = 5, hidden = lstm ? 4 : 3, gates = lstm ? 4 : 3;
        if (direction < 0) direction = lstm ? 2 : 0;
        int dirs = direction == 2 ? 2 : 1, rows = gates * hidden;
        var w = new ModelWriter();
        var (sx, zx, sy, zy) = (0.05f, -7, 2f / 255, 1);
        int x = w.AddActivation(TensorType.Int8, [steps, batch, inputs], w.AddQuantization([sx], zx));
        int y = w.AddActivation(TensorType.Int8, outDims ?? [steps, dirs, batch, hidden], w.AddQuantization([sy], zy));
        var wData = new sbyte[dirs * rows * inputs];
        var rData = new sbyte[dirs * rows * hidden];
        var bData = new int[dirs * 2 * rows];
        for (int i = 0; i < wData.Length; i++) wData[i] = (sbyte)r.Next(-127, 128);
        for (int i = 0; i < rData.Length; i++) rData[i] = (sbyte)r.Next(-127, 128);
        for (int i = 0; i < bData.Length; i++) bData[i] = r.Next(-3000, 3000);
        var mx = new int[dirs * rows];
        var shx = new int[dirs * rows];
        var mh = new int[dirs * rows];
        var shh = new int[dirs * rows];
        for (int i = 0; i < mx.Length; i++)
        {
            (mx[i], shx[i]) = EdgeQuant.Runtime.Math.QuantMath.QuantizeMultiplier(sx * (0.005 + (0.01 * r.NextDouble())) * 4096);
            (mh[i], shh[i]) = EdgeQuant.Runtime.Math.QuantMath.QuantizeMultiplier((0.01 + (0.02 * r.NextDouble())) / 8);
        }

        int wt = w.AddConstant<sbyte>(TensorType.Int8, [dirs, rows, inputs], wData, w.AddQuantization([0.01f], 0));
        int rt = w.AddConstant<sbyte>(TensorType.Int8, [dirs, rows, hidden], rData, w.AddQuantization([0.02f], 0));
        int bt = w.AddConstant<int>(TensorType.Int32, [dirs, 2, rows], bData, w.AddQuantization([0.0005f], 0));
        var (om, os) = EdgeQuant.Runtime.Math.QuantMath.QuantizeMultiplier(1.0 / 32768 / sy);
        var p = new RecurrentParams
        {
            HiddenSize = hidden, Direction = direction, InputOffset = -zx, OutputOffset = zy, OutputMultiplier = om, OutputShift = os,
            CellShift = lstm ? 11 : 0, LinearBeforeReset = lstm ? 0 : linearBeforeReset,
            InputMultipliersOffset = w.AddConstantData<int>(mx), InputShiftsOffset = w.AddConstantData<int>(shx),
            RecurrentMultipliersOffset = w.AddConstantData<int>(mh), RecurrentShiftsOffset = w.AddConstantData<int>(shh),
        };
        if (tweak is not null) p = tweak(p);
        var op = lstm ? OpType.Lstm : OpType.Gru;
        w.AddOp(op, [x, wt, rt, bt], [y], p, scratch ?? K.Recurrent.ScratchBytes(gates, hidden));
        w.AddInput("x", x);
        w.AddOutput("y", y);
        return new OneOpCase(op, w.Build(), inputs =>
        {
            var output = new sbyte[steps * dirs * batch * hidden];
            var scratchBytes = new byte[K.Recurrent.ScratchBytes(gates, hidden)];
            K.Recurrent.EvalS8Reference(lstm, p, S8(inputs[0]), new(steps, batch, 5, 1), wData, rData, bData, mx, shx, mh, shh, output, scratchBytes);
            return Bytes(output);
        });
    }

    /// <summary>
    /// LstmPacked (bidirectional, H 4) or GruPacked (forward, linear_before_reset, H 3) over x [3, 2, 5]: seeded int4
    /// W and R rows (odd lengths: every row ends in a half byte) and a packed per-row record with 16-bit
    /// multipliers and Q3.12 biases. <paramref name="recordByte"/> overwrites one byte of the record (index, value).
    /// </summary>
    public static OneOpCase RecurrentPacked(bool lstm, Func<RecurrentPackedParams, RecurrentPackedParams>? tweak = null, int[]? outDims = null,
        int? scratch = null, TensorType weightType = TensorType.Int4, (int Index, byte Value)? recordByte = null, int rDims0 = -1)
    {
        var r = new Random(lstm ? 79 : 83);
        int steps = 3, batch = 2, inputs = 5, hidden = lstm ? 4 : 3, gates = lstm ? 4 : 3;
        int direction = lstm ? 2 : 0, dirs = direction == 2 ? 2 : 1, rows = dirs * gates * hidden;
        var w = new ModelWriter { SmallDataAlignment = 4 };
        var (sx, zx, sy, zy) = (0.05f, -7, 2f / 255, 1);
        int x = w.AddActivation(TensorType.Int8, [steps, batch, inputs], w.AddQuantization([sx], zx));
        int y = w.AddActivation(TensorType.Int8, outDims ?? [steps, dirs, batch, hidden], w.AddQuantization([sy], zy));
        var wValues = new int[rows * inputs];
        var rValues = new int[rows * hidden];
        for (int i = 0; i < wValues.Length; i++) wValues[i] = r.Next(-8, 8);
        for (int i = 0; i < rValues.Length; i++) rValues[i] = r.Next(-8, 8);
        var post = new int[2 * rows];
        for (int i = 0; i < post.Length; i++) post[i] = r.Next(-12000, 12000);
        var mx = new int[rows];
        var shx = new int[rows];
        var mh = new int[rows];
        var shh = new int[rows];
        for (int i = 0; i < rows; i++)
        {
            var (m, s) = EdgeQuant.Runtime.Math.QuantMath.QuantizeMultiplier(sx * (0.1 + (0.2 * r.NextDouble())) * 4096);
            (mx[i], shx[i]) = PackedRequant.Round16(m, s);
            (m, s) = EdgeQuant.Runtime.Math.QuantMath.QuantizeMultiplier((0.15 + (0.3 * r.NextDouble())) / 8);
            (mh[i], shh[i]) = PackedRequant.Round16(m, s);
        }

        var record = PackedRecurrent.Encode(post, mx, shx, mh, shh);
        if (recordByte is { } rb) record[rb.Index] = rb.Value;
        var wPacked = PackInt4(wValues, rows, inputs);
        var rPacked = PackInt4(rValues, rows, hidden);
        int wt = w.AddConstantEncoded(weightType, [rows, inputs], wPacked, -1);
        int rt = w.AddConstantEncoded(TensorType.Int4, [rDims0 > 0 ? rDims0 : rows, hidden], rDims0 > 0 ? new byte[rDims0 * 2] : rPacked, -1);
        var (om, os) = EdgeQuant.Runtime.Math.QuantMath.QuantizeMultiplier(1.0 / 32768 / sy);
        (om, os) = PackedRequant.Round16(om, os);
        var p = new RecurrentPackedParams
        {
            HiddenSize = (short)hidden, Direction = (byte)direction, LinearBeforeReset = (byte)(lstm ? 0 : 1),
            InputOffset = (short)-zx, OutputOffset = (short)zy, OutputMultiplier16 = (ushort)(om >> 15), OutputShift = (sbyte)os,
            CellShift = (sbyte)(lstm ? 11 : 0), RequantOffset = w.AddSmallConstantData(record),
        };
        if (tweak is not null) p = tweak(p);
        var op = lstm ? OpType.LstmPacked : OpType.GruPacked;
        w.AddOp(op, [x, wt, rt], [y], p, scratch ?? K.Recurrent.ScratchBytes(gates, hidden));
        w.AddInput("x", x);
        w.AddOutput("y", y);
        return new OneOpCase(op, w.Build(), ins =>
        {
            var output = new sbyte[steps * dirs * batch * hidden];
            var scratchBytes = new byte[K.Recurrent.ScratchBytes(gates, hidden)];
            K.Recurrent.EvalS8Int4Reference(lstm, p.AsRecurrentParams(), S8(ins[0]), new(steps, batch, inputs, 1), wPacked, rPacked, new int[2 * rows], post,
                mx, shx, mh, shh, output, scratchBytes);
            return Bytes(output);
        });
    }

    /// <summary>int4 values row by row (docs/format.md 5.10): each row starts on a byte, element 2i in the low nibble.</summary>
    public static byte[] PackInt4(int[] values, int rows, int per)
    {
        int rowBytes = (per + 1) / 2;
        var packed = new byte[rows * rowBytes];
        for (int row = 0; row < rows; row++)
            for (int i = 0; i < per; i++)
                packed[(row * rowBytes) + (i >> 1)] |= (byte)((values[(row * per) + i] & 15) << ((i & 1) * 4));
        return packed;
    }
}
