using EdgeQuant.Runtime.Format;
using EdgeQuant.Runtime.Kernels;
using EdgeQuant.Runtime.Tests.TestSupport;

namespace EdgeQuant.Runtime.Tests.Kernels;

/// <summary>
/// Concatenations with a constant input (a channel padding written as a Concat with a zero tensor, as tf2onnx writes
/// BlazeFace's) and channel concatenations whose two inputs are both copied: the constant rescaled once when the
/// interpreter is built (<c>Concatenation.PrepareConstant</c>) and the one-pass pixel interleave
/// (<c>Concatenation.InterleaveChannels</c>, whose wide moves write past each run), against the reference kernels, on
/// one thread and split into bands.
/// </summary>
public class ConcatenationConstantTests
{
    private enum ConstantKind { None, Zeros, UniformPattern, Random }

    /// <summary>
    /// A Concatenation of an activation and a second input along <paramref name="axis"/>: the second an activation, or a
    /// constant of <paramref name="kind"/>, each copied (the output's quantization) or rescaled, and optionally a third
    /// input (an activation) after them.
    /// </summary>
    private static byte[] Build(Rand r, int axis, int h, int wd, int ca, int cb, ConstantKind kind, bool rescaleA, bool rescaleB, bool third)
    {
        var w = new ModelWriter();
        var qo = (S: r.Scale(0.02, 0.2), Z: r.Int(-128, 20));
        var qa = rescaleA ? (S: r.Scale(0.02, 0.2), Z: r.Int(-20, 20)) : qo;
        var qb = rescaleB ? (S: r.Scale(0.02, 0.2), Z: r.Int(-128, 20)) : qo;
        int[] Dims(int c) => axis == 3 ? [1, h, wd, c] : [1, c, wd, 4];
        int a = w.AddActivation(TensorType.Int8, Dims(ca), w.AddQuantization([qa.S], qa.Z));
        int b;
        var bDims = Dims(cb);
        int bCount = bDims.Aggregate(1, (x, y) => x * y);
        if (kind == ConstantKind.None)
            b = w.AddActivation(TensorType.Int8, bDims, w.AddQuantization([qb.S], qb.Z));
        else
        {
            var data = new sbyte[bCount];
            int run = bDims[3];
            var pattern = r.S8(run);
            for (int i = 0; i < data.Length; i++)
                data[i] = kind switch
                {
                    ConstantKind.Zeros => (sbyte)qb.Z, // the real value 0
                    ConstantKind.UniformPattern => pattern[i % run],
                    _ => (sbyte)r.Int(-128, 127),
                };
            b = w.AddConstant<sbyte>(TensorType.Int8, bDims, data, w.AddQuantization([qb.S], qb.Z));
        }
        int cc = third ? r.Int(1, 20) : 0;
        int c = third ? w.AddActivation(TensorType.Int8, Dims(cc), w.AddQuantization([qo.S], qo.Z)) : -1;
        int y = w.AddActivation(TensorType.Int8, Dims(ca + cb + cc), w.AddQuantization([qo.S], qo.Z));
        var ra = ConverterMath.ConcatInput(qa.S, qa.Z, qo.S, qo.Z);
        var rb = ConverterMath.ConcatInput(qb.S, qb.Z, qo.S, qo.Z);
        var p = new ConcatParams
        {
            Axis = axis, InputCount = third ? 3 : 2, OutputOffset = qo.Z,
            In0Offset = ra.Offset, In0Multiplier = ra.Multiplier, In0Shift = ra.Shift,
            In1Offset = rb.Offset, In1Multiplier = rb.Multiplier, In1Shift = rb.Shift,
        };
        w.AddOp(OpType.Concatenation, third ? [a, b, c] : [a, b], [y], p);
        w.AddInput("a", a);
        if (kind == ConstantKind.None) w.AddInput("b", b);
        if (third) w.AddInput("c", c);
        w.AddOutput("y", y);
        return w.Build();
    }

    private static sbyte[] Run(Model m, sbyte[][] inputs, InterpreterOptions options)
    {
        using var interp = new Interpreter(m, options);
        for (int i = 0; i < inputs.Length; i++) inputs[i].CopyTo(interp.GetInput(i));
        interp.Invoke();
        return interp.GetOutput().ToArray();
    }

    private static void Check(Rand r, int axis, int h, int wd, int ca, int cb, ConstantKind kind, bool rescaleA, bool rescaleB, bool third, string what)
    {
        var m = Model.Load(Build(r, axis, h, wd, ca, cb, kind, rescaleA, rescaleB, third));
        var inputs = new sbyte[m.Inputs.Count][];
        using (var probe = new Interpreter(m))
            for (int i = 0; i < inputs.Length; i++) inputs[i] = r.S8(probe.GetInput(i).Length);
        var expected = Run(m, inputs, new InterpreterOptions { ReferenceKernelsOnly = true });
        Assert.That(Run(m, inputs, new InterpreterOptions()), Is.EqualTo(expected), what + ", one thread");
        Assert.That(Run(m, inputs, new InterpreterOptions { Threads = 2 }), Is.EqualTo(expected), what + ", two threads");
    }

    /// <summary>
    /// Two copied inputs along channels, the second an activation or a constant (zeros, one run repeated, random), runs of
    /// 1-70 channels (the 8-, 16- and 32-byte moves and the multi-vector ones), images of 1 pixel up to 20x20 (the exact
    /// copies of the last pixels, and bands for two threads).
    /// </summary>
    [Test]
    public void CopiedChannelPairsMatchTheReference()
    {
        var r = new Rand(7101);
        int[] channels = [1, 3, 4, 7, 8, 9, 15, 16, 17, 24, 28, 31, 32, 33, 40, 63, 64, 65, 70];
        foreach (var kind in Enum.GetValues<ConstantKind>())
            for (int k = 0; k < 24; k++)
            {
                int ca = channels[r.Int(0, channels.Length - 1)], cb = channels[r.Int(0, channels.Length - 1)];
                int h = k < 3 ? 1 : r.Int(1, 20), wd = k < 3 ? 1 : r.Int(1, 20);
                Check(r, 3, h, wd, ca, cb, kind, false, false, false, $"{kind}, {h}x{wd}, {ca} + {cb} channels");
            }
    }

    /// <summary>
    /// A constant input that is rescaled (its own quantization), beside an activation copied or rescaled; with a third
    /// input (the per-input path); and along height (the general path): the constant's bytes prepared once.
    /// </summary>
    [Test]
    public void RescaledConstantsMatchTheReference()
    {
        var r = new Rand(7102);
        foreach (var kind in new[] { ConstantKind.Zeros, ConstantKind.UniformPattern, ConstantKind.Random })
            for (int k = 0; k < 16; k++)
            {
                int ca = r.Int(1, 48), cb = r.Int(1, 40), h = r.Int(1, 16), wd = r.Int(1, 16);
                bool rescaleA = r.Bool(), third = k % 4 == 3;
                int axis = k % 5 == 4 ? 1 : 3;
                Check(r, axis, h, wd, ca, cb, kind, rescaleA, true, third,
                    $"{kind}, axis {axis}, {h}x{wd}, {ca} + {cb}{(third ? " + third" : "")} channels, input 0 {(rescaleA ? "rescaled" : "copied")}");
                Check(r, axis, h, wd, ca, cb, kind, rescaleA, false, third, $"{kind} copied, axis {axis}, {h}x{wd}, {ca} + {cb} channels");
            }
    }

    /// <summary>The prepared constant keeps one run where every run is equal, and the whole tensor otherwise.</summary>
    [Test]
    public void PreparedConstantsKeepOneRunWhenAllAreEqual()
    {
        var shape = new Shape4(1, 3, 4, 5);
        var outShape = new Shape4(1, 3, 4, 9);
        var uniform = new sbyte[shape.FlatSize];
        for (int i = 0; i < uniform.Length; i++) uniform[i] = (sbyte)(i % 5 - 2);
        var one = Concatenation.PrepareConstant(uniform, shape, outShape, 3, 0, 0, 0, 0);
        Assert.That(one.Uniform, Is.True);
        Assert.That(one.Bytes.AsSpan(0, 5).ToArray(), Is.EqualTo(new sbyte[] { -2, -1, 0, 1, 2 }));
        Assert.That(one.Bytes.Length % 32, Is.Zero, "one run padded to whole 32-byte moves");
        var varied = (sbyte[])uniform.Clone();
        varied[^1] = 100;
        var whole = Concatenation.PrepareConstant(varied, shape, outShape, 3, 0, 0, 0, 0);
        Assert.That(whole.Uniform, Is.False);
        Assert.That(whole.Bytes, Is.EqualTo(varied));
        // Rescaled: the reference arithmetic, element by element.
        var (off, m, s) = ConverterMath.ConcatInput(0.5f, 4, 0.25f, -3);
        var rescaled = Concatenation.PrepareConstant(varied, shape, outShape, 3, off, m, s, -3);
        var expected = new sbyte[varied.Length];
        Concatenation.EvalInputS8Reference(varied, shape, expected, shape, 3, 0, off, m, s, -3);
        Assert.That(rescaled.Bytes, Is.EqualTo(expected));
    }
}
