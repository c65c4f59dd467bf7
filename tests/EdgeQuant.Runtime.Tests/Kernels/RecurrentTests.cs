using EdgeQuant.Runtime.Format;
using EdgeQuant.Runtime.Kernels;
using EdgeQuant.Runtime.Math;
using EdgeQuant.Runtime.Tests.TestSupport;

namespace EdgeQuant.Runtime.Tests.Kernels;

/// <summary>A random integer LSTM or GRU with the parameters a converter would derive from float scales, and its real-valued twin.</summary>
internal sealed class RecurrentCase
{
    public required bool Lstm;
    public required RecurrentParams P;
    public required Shape4 XShape;
    public required sbyte[] X, W, R;
    public required int[] Bias, Mx, Sx, Mh, Sh;
    public required float XScale, YScale;
    public required int XZero, YZero;
    public required float[] WScales, RScales;
    public int Steps => XShape.D0;
    public int Batch => XShape.D1;
    public int Inputs => XShape.D2;
    public int Hidden => P.HiddenSize;
    public int Directions => P.Direction == 2 ? 2 : 1;
    public int Rows => (Lstm ? 4 : 3) * Hidden;
    public int OutputLength => Steps * Directions * Batch * Hidden;

    public static RecurrentCase Random(Random r, bool lstm, int steps, int batch, int inputs, int hidden, int direction, int linearBeforeReset)
    {
        int gates = lstm ? 4 : 3, rows = gates * hidden, dirs = direction == 2 ? 2 : 1;
        float sx = 0.02f + (0.05f * (float)r.NextDouble());
        int zx = r.Next(-40, 40);
        float sy = 2f / 255;
        int zy = r.Next(-3, 4);
        var wScales = new float[dirs * rows];
        var rScales = new float[dirs * rows];
        var mx = new int[dirs * rows];
        var shx = new int[dirs * rows];
        var mh = new int[dirs * rows];
        var shh = new int[dirs * rows];
        var bias = new int[dirs * 2 * rows];
        for (int d = 0; d < dirs; d++)
            for (int row = 0; row < rows; row++)
            {
                int k = (d * rows) + row;
                // Weights of about ±1.5 / sqrt(fan-in), as trained layers have.
                wScales[k] = (float)((0.5 + r.NextDouble()) * 1.5 / System.Math.Sqrt(inputs) / 127);
                rScales[k] = (float)((0.5 + r.NextDouble()) * 1.5 / System.Math.Sqrt(hidden) / 127);
                (mx[k], shx[k]) = QuantMath.QuantizeMultiplier((double)sx * wScales[k] * 4096);
                (mh[k], shh[k]) = QuantMath.QuantizeMultiplier(rScales[k] / 8.0);
                bias[(d * 2 * rows) + row] = (int)System.Math.Round(((r.NextDouble() * 2) - 1) * 0.5 / (sx * wScales[k]));
                bias[(d * 2 * rows) + rows + row] = (int)System.Math.Round(((r.NextDouble() * 2) - 1) * 0.5 / (rScales[k] / 32768.0));
            }

        var (om, os) = QuantMath.QuantizeMultiplier(1.0 / 32768 / sy);
        return new RecurrentCase
        {
            Lstm = lstm,
            P = new RecurrentParams
            {
                HiddenSize = hidden, Direction = direction, InputOffset = -zx, OutputOffset = zy, OutputMultiplier = om, OutputShift = os,
                CellShift = lstm ? 11 : 0, LinearBeforeReset = lstm ? 0 : linearBeforeReset,
            },
            XShape = new Shape4(steps, batch, inputs, 1),
            X = FastPathCases.S8(r, steps * batch * inputs),
            W = FastPathCases.S8(r, dirs * rows * inputs, -127, 127),
            R = FastPathCases.S8(r, dirs * rows * hidden, -127, 127),
            Bias = bias, Mx = mx, Sx = shx, Mh = mh, Sh = shh,
            XScale = sx, XZero = zx, YScale = sy, YZero = zy, WScales = wScales, RScales = rScales,
        };
    }

    public sbyte[] Run(bool reference, bool vector128 = false)
    {
        var y = new sbyte[OutputLength];
        var scratch = new byte[Recurrent.ScratchBytes(Lstm ? 4 : 3, Hidden)];
        if (reference) Recurrent.EvalS8Reference(Lstm, P, X, XShape, W, R, Bias, Mx, Sx, Mh, Sh, y, scratch);
#if NET
        else if (vector128) Recurrent.EvalS8Vector128(Lstm, P, X, XShape, W, R, Bias, Mx, Sx, Mh, Sh, y, scratch);
#endif
        else Recurrent.EvalS8(Lstm, P, X, XShape, W, R, Bias, Mx, Sx, Mh, Sh, y, scratch);
        return y;
    }

    /// <summary>The same layer in double precision on the dequantized input, weights and biases (ONNX's equations).</summary>
    public double[] RunReal()
    {
        int h = Hidden, rows = Rows, dirs = Directions;
        var y = new double[OutputLength];
        for (int dir = 0; dir < dirs; dir++)
        {
            bool reverse = P.Direction == 1 || dir == 1;
            for (int b = 0; b < Batch; b++)
            {
                var hs = new double[h];
                var cs = new double[h];
                for (int s = 0; s < Steps; s++)
                {
                    int t = reverse ? Steps - 1 - s : s;
                    var gx = new double[rows];
                    var gh = new double[rows];
                    for (int row = 0; row < rows; row++)
                    {
                        int k = (dir * rows) + row;
                        double ax = Bias[(dir * 2 * rows) + row] * (double)XScale * WScales[k];
                        for (int i = 0; i < Inputs; i++) ax += XScale * (X[((t * Batch) + b) * Inputs + i] - XZero) * (double)WScales[k] * W[(k * Inputs) + i];
                        gx[row] = ax;
                        double ah = Bias[(dir * 2 * rows) + rows + row] * (RScales[k] / 32768.0);
                        for (int j = 0; j < h; j++) ah += hs[j] * RScales[k] * R[(k * h) + j];
                        gh[row] = ah;
                    }

                    var next = new double[h];
                    for (int j = 0; j < h; j++)
                    {
                        if (Lstm)
                        {
                            double i = Sig(gx[j] + gh[j]), o = Sig(gx[h + j] + gh[h + j]), f = Sig(gx[(2 * h) + j] + gh[(2 * h) + j]);
                            double g = System.Math.Tanh(gx[(3 * h) + j] + gh[(3 * h) + j]);
                            cs[j] = (f * cs[j]) + (i * g);
                            next[j] = o * System.Math.Tanh(cs[j]);
                        }
                        else
                        {
                            double z = Sig(gx[j] + gh[j]), rg = Sig(gx[h + j] + gh[h + j]);
                            double pre;
                            if (P.LinearBeforeReset != 0)
                            {
                                pre = gx[(2 * h) + j] + (rg * gh[(2 * h) + j]);
                            }
                            else
                            {
                                int k = (dir * rows) + (2 * h) + j;
                                pre = gx[(2 * h) + j] + (Bias[(dir * 2 * rows) + rows + (2 * h) + j] * (RScales[k] / 32768.0));
                                for (int q = 0; q < h; q++) pre += Sig(gx[h + q] + gh[h + q]) * hs[q] * RScales[k] * R[(k * h) + q];
                            }

                            double n = System.Math.Tanh(pre);
                            next[j] = ((1 - z) * n) + (z * hs[j]);
                        }
                    }

                    hs = next;
                    for (int j = 0; j < h; j++) y[((((t * dirs) + dir) * Batch) + b) * h + j] = hs[j];
                }
            }
        }

        return y;
    }

    private static double Sig(double v) => 1 / (1 + System.Math.Exp(-v));
}

/// <summary>The integer LSTM and GRU against their real-valued equations, the gate functions against exp and tanh, and zero allocation.</summary>
public class RecurrentTests
{
    [Test]
    public void GateFunctionsFollowSigmoidAndTanhOverEveryInput()
    {
        int worstSigmoid = 0, worstTanh = 0;
        for (int x = short.MinValue; x <= short.MaxValue; x++)
        {
            double v = x / 4096.0;
            worstSigmoid = System.Math.Max(worstSigmoid, System.Math.Abs(GateMath.Sigmoid(x) - (int)System.Math.Round(32768 / (1 + System.Math.Exp(-v)))));
            worstTanh = System.Math.Max(worstTanh, System.Math.Abs(GateMath.Tanh(x) - (int)System.Math.Round(32768 * System.Math.Tanh(v))));
        }

        TestContext.Out.WriteLine($"largest error in units of 2^-15: sigmoid {worstSigmoid}, tanh {worstTanh}");
        Assert.That(worstSigmoid, Is.LessThanOrEqualTo(3));
        Assert.That(worstTanh, Is.LessThanOrEqualTo(14));
        Assert.That(GateMath.Sigmoid(0), Is.EqualTo(16384));
        Assert.That(GateMath.Tanh(0), Is.EqualTo(0));
        // Beyond the Q3.12 range the input saturates.
        Assert.That(GateMath.Sigmoid(1 << 20), Is.EqualTo(GateMath.Sigmoid(short.MaxValue)));
        Assert.That(GateMath.Tanh(-(1 << 20)), Is.EqualTo(-32767));
    }

    [TestCase(true, 0, 0)]
    [TestCase(true, 2, 0)]
    [TestCase(false, 0, 1)]
    [TestCase(false, 1, 0)]
    [TestCase(false, 2, 1)]
    public void IntegerLayerTracksTheRealEquations(bool lstm, int direction, int linearBeforeReset)
    {
        var r = new Random(31 + direction + (lstm ? 10 : 0) + (3 * linearBeforeReset));
        double worst = 0;
        for (int trial = 0; trial < 6; trial++)
        {
            var c = RecurrentCase.Random(r, lstm, steps: 8, batch: 2, inputs: r.Next(3, 20), hidden: r.Next(2, 24), direction, linearBeforeReset);
            var y = c.Run(reference: true);
            var want = c.RunReal();
            for (int i = 0; i < y.Length; i++)
            {
                double wantCode = System.Math.Clamp(System.Math.Round(want[i] / c.YScale) + c.YZero, -128, 127);
                worst = System.Math.Max(worst, System.Math.Abs(y[i] - wantCode));
            }
        }

        TestContext.Out.WriteLine($"largest difference from the real equations: {worst} output steps (scale 2/255)");
        Assert.That(worst, Is.LessThanOrEqualTo(2));
    }

    [TestCase(true)]
    [TestCase(false)]
    public void InvokeAllocatesNothing(bool lstm)
    {
        var interp = new Interpreter(Model.Load(OneOpModels.Recurrent(lstm).Blob));
        interp.GetInput().Fill(5);
        for (int i = 0; i < 10; i++) interp.Invoke();
        Assert.That(CallerAllocation.Least(() => { for (int i = 0; i < 1000; i++) interp.Invoke(); }), Is.Zero);
    }
}

/// <summary>The Lstm / Gru fast path against the reference, byte for byte: every input and hidden tail, directions, batches, both GRU forms.</summary>
public class RecurrentFastPathTests
{
    [Test]
    public void EveryTailDirectionAndForm([Values] bool lstm, [Values] bool dispatcher)
    {
        var r = new Random(lstm ? 37 : 41);
        for (int trial = 0; trial < 60; trial++)
        {
            var c = RecurrentCase.Random(r, lstm, steps: r.Next(1, 5), batch: r.Next(1, 4), inputs: 1 + (trial % 40), hidden: 1 + ((trial * 7) % 37),
                direction: r.Next(3), linearBeforeReset: r.Next(2));
            var expected = c.Run(reference: true);
            var got = c.Run(reference: false, vector128: !dispatcher);
            Assert.That(got, Is.EqualTo(expected), $"trial {trial}: I {c.Inputs}, H {c.Hidden}, direction {c.P.Direction}, linear before reset {c.P.LinearBeforeReset}");
        }
    }
}

/// <summary>A random int4 LstmPacked / GruPacked layer: the int8 case's shapes and parameters with int4 rows and Q3.12 post-rescale biases.</summary>
internal sealed class RecurrentInt4Case
{
    public required RecurrentCase Base;
    public required int[] WValues, RValues, PostBias;
    public required byte[] WPacked, RPacked;

    public static RecurrentInt4Case Random(Random r, bool lstm, int steps, int batch, int inputs, int hidden, int direction, int linearBeforeReset)
    {
        var c = RecurrentCase.Random(r, lstm, steps, batch, inputs, hidden, direction, linearBeforeReset);
        int rows = c.Directions * c.Rows;
        var w = new int[rows * inputs];
        var rv = new int[rows * hidden];
        // Every int4 code, −8 included, and the multipliers of a 16x coarser grid.
        for (int i = 0; i < w.Length; i++) w[i] = r.Next(-8, 8);
        for (int i = 0; i < rv.Length; i++) rv[i] = r.Next(-8, 8);
        var post = new int[2 * rows];
        for (int i = 0; i < post.Length; i++) post[i] = r.Next(-20000, 20000);
        for (int k = 0; k < rows; k++)
        {
            (c.Mx[k], c.Sx[k]) = Packed16((double)c.XScale * c.WScales[k] * 16 * 4096);
            (c.Mh[k], c.Sh[k]) = Packed16(c.RScales[k] * 16 / 8.0);
        }
        return new RecurrentInt4Case
        {
            Base = c, WValues = w, RValues = rv, PostBias = post,
            WPacked = OneOpModels.PackInt4(w, rows, inputs), RPacked = OneOpModels.PackInt4(rv, rows, hidden),
        };
    }

    private static (int, int) Packed16(double real)
    {
        var (m, e) = QuantMath.QuantizeMultiplier(real);
        return PackedRequant.Round16(m, e);
    }

    public sbyte[] Run(bool reference, bool vector128 = false, bool withPreBias = false)
    {
        var c = Base;
        var y = new sbyte[c.OutputLength];
        var scratch = new byte[Recurrent.ScratchBytes(c.Lstm ? 4 : 3, c.Hidden)];
        var bias = withPreBias ? c.Bias : new int[c.Bias.Length];
        if (reference) Recurrent.EvalS8Int4Reference(c.Lstm, c.P, c.X, c.XShape, WPacked, RPacked, bias, PostBias, c.Mx, c.Sx, c.Mh, c.Sh, y, scratch);
#if NET
        else if (vector128) Recurrent.EvalS8Int4Vector128(c.Lstm, c.P, c.X, c.XShape, WPacked, RPacked, bias, PostBias, c.Mx, c.Sx, c.Mh, c.Sh, y, scratch);
#endif
        else Recurrent.EvalS8Int4(c.Lstm, c.P, c.X, c.XShape, WPacked, RPacked, bias, PostBias, c.Mx, c.Sx, c.Mh, c.Sh, y, scratch);
        return y;
    }
}

/// <summary>Ops 25-26 (int4 rows, packed record) against the int8 definition, and their fast path against their reference.</summary>
public class RecurrentInt4Tests
{
    [Test]
    public void Int4RowsComputeWhatTheInt8OpComputesOnTheDecodedWeights([Values] bool lstm)
    {
        // With no post-rescale bias, ops 25-26 are ops 23-24 on the decoded values: same sums, same bytes.
        var r = new Random(lstm ? 5 : 6);
        for (int trial = 0; trial < 20; trial++)
        {
            var c = RecurrentInt4Case.Random(r, lstm, steps: 4, batch: 2, inputs: 1 + (trial * 3 % 23), hidden: 1 + (trial * 5 % 19), direction: trial % 3, linearBeforeReset: trial % 2);
            Array.Clear(c.PostBias);
            var b = c.Base;
            var w8 = Array.ConvertAll(c.WValues, v => (sbyte)v);
            var r8 = Array.ConvertAll(c.RValues, v => (sbyte)v);
            var y8 = new sbyte[b.OutputLength];
            Recurrent.EvalS8Reference(b.Lstm, b.P, b.X, b.XShape, w8, r8, b.Bias, b.Mx, b.Sx, b.Mh, b.Sh, y8, new byte[Recurrent.ScratchBytes(lstm ? 4 : 3, b.Hidden)]);
            Assert.That(c.Run(reference: true, withPreBias: true), Is.EqualTo(y8), $"trial {trial}");
        }
    }

    [Test]
    public void PostBiasIsAddedAfterTheRescale()
    {
        // A GRU whose weights are all zero: every part is its Q3.12 bias, so h follows from the biases alone.
        var r = new Random(9);
        var c = RecurrentInt4Case.Random(r, lstm: false, steps: 1, batch: 1, inputs: 3, hidden: 1, direction: 0, linearBeforeReset: 1);
        Array.Clear(c.WPacked);
        Array.Clear(c.RPacked);
        c.PostBias[0] = -32768; // z part: sigmoid(−8 + ...) ≈ 0, so h' = n
        c.PostBias[3] = 0;
        c.PostBias[2] = 4096; // candidate: tanh(1 + r × 0)
        c.PostBias[1] = c.PostBias[4] = c.PostBias[5] = 0;
        var y = c.Run(reference: true);
        double h = System.Math.Tanh(1);
        double expected = (h / c.Base.YScale) + c.Base.YZero;
        Assert.That(y[0], Is.EqualTo(expected).Within(1.01));
    }

    [Test]
    public void InvokeAllocatesNothing([Values] bool lstm)
    {
        var interp = new Interpreter(Model.Load(OneOpModels.RecurrentPacked(lstm).Blob));
        interp.GetInput().Fill(5);
        for (int i = 0; i < 10; i++) interp.Invoke();
        Assert.That(CallerAllocation.Least(() => { for (int i = 0; i < 1000; i++) interp.Invoke(); }), Is.Zero);
    }
}

/// <summary>The int4 Lstm / Gru fast path against the reference, byte for byte: every row tail (odd rows end in a half byte), the 256-weight chunk boundary, directions, both GRU forms.</summary>
public class RecurrentInt4FastPathTests
{
    [Test]
    public void EveryTailDirectionAndForm([Values] bool lstm, [Values] bool dispatcher)
    {
        var r = new Random(lstm ? 43 : 47);
        for (int trial = 0; trial < 60; trial++)
        {
            int inputs = trial < 56 ? 1 + (trial % 40) : 250 + (trial * 3);
            var c = RecurrentInt4Case.Random(r, lstm, steps: r.Next(1, 4), batch: r.Next(1, 3), inputs: inputs, hidden: 1 + ((trial * 7) % 37),
                direction: r.Next(3), linearBeforeReset: r.Next(2));
            var expected = c.Run(reference: true);
            var got = c.Run(reference: false, vector128: !dispatcher);
            Assert.That(got, Is.EqualTo(expected), $"trial {trial}: I {c.Base.Inputs}, H {c.Base.Hidden}, direction {c.Base.P.Direction}");
        }
    }

    [Test]
    public void DecodeMatchesTheReferenceForEveryLengthAndByte()
    {
        var packed = new byte[160];
        for (int i = 0; i < packed.Length; i++) packed[i] = (byte)(i * 37 + 11);
        for (int n = 0; n <= 300; n++)
        {
            var a = new byte[n];
            var b = new byte[n];
            Recurrent.DecodeInt4(packed, a);
#if NET
            Recurrent.DecodeInt4Vector128(packed, b);
#else
            Recurrent.DecodeInt4(packed, b);
#endif
            Assert.That(b, Is.EqualTo(a), $"n {n}");
            for (int i = 0; i < n; i++)
            {
                int nib = (packed[i >> 1] >> ((i & 1) * 4)) & 15;
                Assert.That((sbyte)a[i], Is.EqualTo(nib >= 8 ? nib - 16 : nib), $"n {n}, element {i}");
            }
        }
    }
}
