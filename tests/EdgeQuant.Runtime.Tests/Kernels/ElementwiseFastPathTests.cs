using NUnit.Framework;
using EdgeQuant.Runtime.Format;
using EdgeQuant.Runtime.Kernels;

namespace EdgeQuant.Runtime.Tests.Kernels;

/// <summary>The Add/Sub fast paths against the reference, byte for byte, with broadcasting.</summary>
public class ElementwiseFastPathTests
{
    /// <summary>AdvSimd: the arm64 Add/Sub row (split shifts, saturating narrow), emulated on x64.</summary>
    public enum Path { Dispatcher, Avx2, Vector128, AdvSimd }

    private static ElementwiseParams Params(Random r, bool wild)
    {
        if (wild)
        {
            // Any parameters the record can hold: bit-exactness does not depend on sensible scales.
            return new ElementwiseParams
            {
                Input1Offset = r.Next(-128, 129), Input2Offset = r.Next(-128, 129), OutputOffset = r.Next(-128, 128), LeftShift = r.Next(0, 23),
                Input1Multiplier = r.Next(), Input1Shift = r.Next(-31, 8), Input2Multiplier = r.Next(), Input2Shift = r.Next(-31, 8),
                OutputMultiplier = r.Next(), OutputShift = r.Next(-31, 4), ActivationMin = -128, ActivationMax = 127,
            };
        }
        return new ElementwiseParams
        {
            Input1Offset = r.Next(-127, 129), Input2Offset = r.Next(-127, 129), OutputOffset = r.Next(-128, 128), LeftShift = 20,
            Input1Multiplier = FastPathCases.Multipliers(r, 1)[0], Input1Shift = r.Next(-3, 1),
            Input2Multiplier = FastPathCases.Multipliers(r, 1)[0], Input2Shift = r.Next(-3, 1),
            OutputMultiplier = FastPathCases.Multipliers(r, 1)[0], OutputShift = r.Next(-21, -16),
            ActivationMin = r.Next(3) == 0 ? r.Next(-128, 0) : -128, ActivationMax = r.Next(3) == 0 ? r.Next(0, 128) : 127,
        };
    }

    private static Shape4 Broadcast(Random r, Shape4 s) => r.Next(4) switch
    {
        0 => s,
        1 => new Shape4(1, 1, 1, 1),
        2 => new Shape4(s.D0, 1, 1, s.D3),
        _ => new Shape4(r.Next(2) == 0 ? 1 : s.D0, r.Next(2) == 0 ? 1 : s.D1, r.Next(2) == 0 ? 1 : s.D2, r.Next(2) == 0 ? 1 : s.D3),
    };

    /// <summary>
    /// <paramref name="run"/> (a fast Add/Sub of equal shapes) against the reference: on every (x, y) pair once, and on random
    /// rows of 0-40, 63-65 and 127-129 elements (every tail of 16-element steps, and whole 64-element steps with and without one).
    /// </summary>
    private static void AssertEveryPairAndTails(Random r, ElementwiseParams p, bool subtract, Action<sbyte[], sbyte[], sbyte[]> run)
    {
        // Every pair once: a = x repeated, b = every y.
        var a = new sbyte[65536];
        var b = new sbyte[65536];
        for (int i = 0; i < 65536; i++) { a[i] = (sbyte)(i >> 8); b[i] = (sbyte)i; }
        var all = new Shape4(1, 1, 1, 65536);
        var expected = new sbyte[65536];
        var got = new sbyte[65536];
        Elementwise.AddS8Reference(p, a, all, b, all, expected, all, subtract);
        run(a, b, got);
        Assert.That(got, Is.EqualTo(expected), "every (x, y) pair");
        foreach (int n in Enumerable.Range(0, 41).Concat([63, 64, 65, 127, 128, 129]))
        {
            var x = FastPathCases.S8(r, n);
            var y = FastPathCases.S8(r, n);
            var s = new Shape4(1, 1, 1, n);
            var e = new sbyte[n];
            var o = new sbyte[n];
            Elementwise.AddS8Reference(p, x, s, y, s, e, s, subtract);
            run(x, y, o);
            Assert.That(o, Is.EqualTo(e), $"{n} elements");
        }
    }

    /// <summary>
    /// The Add/Sub lookup table (every int8 pair through the reference) gathered by AVX2: equal to the reference
    /// on every (x, y) pair of the table and on random rows of every tail length.
    /// </summary>
    [Test]
    public void TableEqualsTheReference([Values] bool subtract, [Values] bool wild)
    {
        if (!System.Runtime.Intrinsics.X86.Avx2.IsSupported) Assert.Ignore("not run: no AVX2 (the table path needs its gather)");
        var r = new Random(71 + (subtract ? 1 : 0) + (wild ? 2 : 0));
        for (int k = 0; k < 4; k++)
        {
            var p = Params(r, wild);
            var shape = new Shape4(1, 1, 1, Elementwise.AddTableMinElements);
            var table = Elementwise.PrepareAddTable(p, subtract, shape, shape, shape);
            Assert.That(table, Is.Not.Null);
            Assert.That(Elementwise.PrepareAddTable(p, subtract, new Shape4(1, 1, 1, Elementwise.AddTableMinElements - 1),
                new Shape4(1, 1, 1, Elementwise.AddTableMinElements - 1), new Shape4(1, 1, 1, Elementwise.AddTableMinElements - 1)), Is.Null);
            AssertEveryPairAndTails(r, p, subtract, (x, y, o) => Elementwise.AddS8Table(table!, x, y, o));
        }
    }

    /// <summary>
    /// The AVX-512 arithmetic Add/Sub (three exact 16-lane requantizations), both forms: the input stages looked up in
    /// their byte planes (with VBMI) and computed: where it is prepared, equal to the reference on every (x, y) pair and
    /// on random rows of every tail length; where its conditions fail (wild parameters), not prepared. Sensible parameters
    /// (TFLite's: input shifts of 0 to -3) must always be covered.
    /// </summary>
    [Test]
    public void Avx512ArithmeticEqualsTheReference([Values] bool subtract, [Values] bool wild)
    {
        if (!System.Runtime.Intrinsics.X86.Avx512BW.IsSupported) Assert.Ignore("not run: no AVX-512BW (or DOTNET_EnableAVX512=0); the table or AVX2 path runs");
        var r = new Random(171 + (subtract ? 1 : 0) + (wild ? 2 : 0));
        int prepared = 0;
        for (int k = 0; k < 12; k++)
        {
            var p = Params(r, wild);
            if (!wild)
            {
                // Input shifts of 0 too: fashion_resnet's second input has multiplier 2^30 and shift 0.
                p.Input1Shift = r.Next(-3, 1);
                p.Input2Shift = r.Next(-3, 1);
            }
            var shape = new Shape4(1, 1, 1, 100);
            var q = Elementwise.PrepareAddAvx512(p, subtract, shape, shape, shape);
            if (!wild) Assert.That(q, Is.Not.Null, "TFLite-style parameters are covered");
            if (q is null) continue;
            prepared++;
            Assert.That(q.Input1Planes is not null && q.Input2Planes is not null, Is.EqualTo(System.Runtime.Intrinsics.X86.Avx512Vbmi.IsSupported),
                "the planes are built where VBMI looks them up");
            AssertEveryPairAndTails(r, p, subtract, (x, y, o) => Elementwise.AddS8Avx512(q, x, y, o));
            var arithmetic = q.WithoutPlanes();
            AssertEveryPairAndTails(r, p, subtract, (x, y, o) => Elementwise.AddS8Avx512(arithmetic, x, y, o));
        }
        if (!wild) Assert.That(prepared, Is.EqualTo(12));
    }

    /// <summary>
    /// The AVX-512 Add/Sub with its output in place of either input (an arena may give an elementwise op's output the
    /// place of an input it reads last): the last partial step reads its inputs before anything is stored, so every
    /// length, with and without a tail, gives the reference's bytes.
    /// </summary>
    [Test]
    public void Avx512InPlaceEqualsTheReference([Values] bool subtract, [Values] bool intoSecond)
    {
        if (!System.Runtime.Intrinsics.X86.Avx512BW.IsSupported) Assert.Ignore("not run: no AVX-512BW (or DOTNET_EnableAVX512=0)");
        var r = new Random(181 + (subtract ? 1 : 0) + (intoSecond ? 2 : 0));
        var p = Params(r, wild: false);
        foreach (int n in new[] { 1, 63, 64, 65, 100, 127, 128, 129, 5488 })
        {
            var shape = new Shape4(1, 1, 1, n);
            var q = Elementwise.PrepareAddAvx512(p, subtract, shape, shape, shape);
            Assert.That(q, Is.Not.Null);
            foreach (var form in new[] { q!, q!.WithoutPlanes() })
            {
                var x = FastPathCases.S8(r, n);
                var y = FastPathCases.S8(r, n);
                var expected = new sbyte[n];
                Elementwise.AddS8Reference(p, x, shape, y, shape, expected, shape, subtract);
                var into = intoSecond ? y : x;
                Elementwise.AddS8Avx512(form, x, y, into);
                Assert.That(into, Is.EqualTo(expected), $"{n} elements in place of the {(intoSecond ? "second" : "first")} input");
            }
        }
    }

    /// <summary>
    /// The float32 form of an Add/Sub (AVX2 with FMA, or arm64): where it is prepared, equal to the reference on every (x, y) pair
    /// and on random rows of every tail length; where it is not, the form really differs from the reference on some pair
    /// (computed here by scalar FMAs and round-to-nearest, as the kernel does), so no op is refused for nothing. Most
    /// TFLite-style parameter sets must be covered (the rest run the table).
    /// </summary>
    [Test]
    public void AffineEqualsTheReference([Values] bool subtract, [Values] bool wild)
    {
        if (!Elementwise.AffineSupported)
            Assert.Ignore("not run: neither AVX2 with FMA nor arm64 (the table or the rows run)");
        var r = new Random(271 + (subtract ? 1 : 0) + (wild ? 2 : 0));
        int prepared = 0, cases = 24;
        for (int k = 0; k < cases; k++)
        {
            var p = Params(r, wild);
            var shape = new Shape4(1, 1, 1, 100);
            var q = Elementwise.PrepareAddAffine(p, subtract, shape, shape, shape);
            Assert.That(Elementwise.PrepareAddAffine(p, subtract, new Shape4(1, 1, 1, 1), shape, shape), Is.Null, "a broadcast is not prepared");
            if (q is null)
            {
                Assert.That(FloatFormDiffers(p, subtract), Is.True, $"case {k}: refused, yet the float form equals the reference on every pair");
                continue;
            }
            prepared++;
            AssertEveryPairAndTails(r, p, subtract, (x, y, o) => Elementwise.AddS8Affine(q, x, y, o));
        }
        if (!wild) Assert.That(prepared, Is.GreaterThanOrEqualTo(cases * 2 / 3), "TFLite-style parameters are mostly covered");
        TestContext.Out.WriteLine($"prepared {prepared} of {cases}");
    }

    /// <summary>
    /// Parameter sets whose plain float32 form differs from the reference on some pair (machines without AVX-512): with one
    /// or two such pairs they get the patched form (x64 and arm64), with more the checked form (x64 with AVX2 but not AVX-512), and either
    /// equals the reference on every (x, y) pair, on random rows of every tail length, and in place of either input.
    /// Without the patches or the recomputed steps these parameter sets fail the every-pair check, so those are what make
    /// them pass.
    /// </summary>
    [Test]
    public void PatchedAndCheckedFormsCoverWhatThePlainFormMisses([Values] bool subtract)
    {
        if (!Elementwise.AffineSupported)
            Assert.Ignore("not run: the float form needs AVX2 and FMA, or arm64");
        bool x64 = System.Runtime.Intrinsics.X86.Avx2.IsSupported;
        // The checked form only where AVX-512 is missing (AVX-512 machines take their exact arithmetic there); the patched
        // form everywhere, with AVX-512 in its 32-byte steps.
        bool checkedExpected = x64 && !System.Runtime.Intrinsics.X86.Avx512BW.IsSupported;
        var r = new Random(291 + (subtract ? 1 : 0));
        int patched = 0, checkedForms = 0, tried = 0;
        var shape = new Shape4(1, 1, 1, 100);
        for (int k = 0; k < 600 && (patched < 4 || (checkedExpected && checkedForms < 2)); k++)
        {
            var p = Params(r, wild: k % 3 == 2);
            if (!FloatFormDiffers(p, subtract)) continue;
            tried++;
            var q = Elementwise.PrepareAddAffine(p, subtract, shape, shape, shape);
            if (q is null)
            {
                Assert.That(x64 && WrongPairs(p, subtract) <= 2, Is.False, $"case {k}: refused, yet the patched form would cover it");
                continue;
            }
            Assert.That(q.PatchX is not null || q.Margin > 0, Is.True, $"case {k}: the plain form differs, so the form must be patched or checked");
            if (q.PatchX is not null) patched++;
            else checkedForms++;
            AssertEveryPairAndTails(r, p, subtract, (x, y, o) => Elementwise.AddS8Affine(q, x, y, o));
            foreach (bool intoSecond in new[] { false, true })
                AssertInPlace(r, p, subtract, q, intoSecond, [16, 33, 5488], $"case {k}: ");
        }
        TestContext.Out.WriteLine($"{patched} patched and {checkedForms} checked forms for {tried} parameter sets the plain form misses");
        Assert.That(patched, Is.GreaterThanOrEqualTo(4), "parameter sets with one or two wrong pairs get the patched form");
        if (checkedExpected) Assert.That(checkedForms, Is.GreaterThanOrEqualTo(2), "parameter sets with more get the checked form");
        else Assert.That(checkedForms, Is.Zero, "the checked form is not prepared with AVX-512");
    }

    // How many pairs the plain float32 form gets wrong (scalar FMAs and round-to-nearest, as the kernel computes; all of
    // them where the form cannot be prepared at all).
    private static int WrongPairs(ElementwiseParams p, bool subtract)
    {
        double output = System.Math.ScaleB((double)p.OutputMultiplier, p.OutputShift - 31) * System.Math.ScaleB(1.0, p.LeftShift);
        double a = System.Math.ScaleB((double)p.Input1Multiplier, p.Input1Shift - 31) * output;
        double b = System.Math.ScaleB((double)p.Input2Multiplier, p.Input2Shift - 31) * output * (subtract ? -1 : 1);
        double g = a * p.Input1Offset + b * p.Input2Offset + p.OutputOffset;
        if (!(System.Math.Abs(a) * 128 + System.Math.Abs(b) * 128 + System.Math.Abs(g) < 1 << 30))
            return int.MaxValue;
        float af = (float)a, bf = (float)b, gf = (float)g;
        int wrong = 0;
        for (int x = -128; x < 128; x++)
            for (int y = -128; y < 128; y++)
            {
                float v = MathF.FusedMultiplyAdd(af, x, MathF.FusedMultiplyAdd(bf, y, gf));
                if (System.Math.Clamp((int)MathF.Round(v, MidpointRounding.ToEven), p.ActivationMin, p.ActivationMax) != Elementwise.AddOne(p, x, y, subtract))
                    wrong++;
            }
        return wrong;
    }

    // Whether out = clamp(round(a x + (b y + g))) in float32, as PrepareAddAffine builds it, differs from the reference on some pair.
    private static bool FloatFormDiffers(ElementwiseParams p, bool subtract) => WrongPairs(p, subtract) > 0;

    /// <summary>
    /// Every Add of equal shapes in the zoo (fashion_resnet's, both of fashion_mobilenetv2's, fashion_mobilenet's and
    /// quirk_misc_ops': five) takes the float32 form wherever it can be prepared (x64 with AVX2 and FMA, arm64), ahead of the
    /// AVX-512 arithmetic form and without a 64 KB table.
    /// </summary>
    [Test]
    public void ZooAddsTakeTheFloatForm()
    {
        if (!Elementwise.AffineSupported)
            Assert.Ignore("not run: neither AVX2 with FMA nor arm64");
        int adds = 0;
        foreach (var file in Directory.GetFiles(System.IO.Path.Combine(AppContext.BaseDirectory, "zoo", "eqm"), "*.eqm").Order(StringComparer.Ordinal))
        {
            var model = Model.Load(File.ReadAllBytes(file));
            var affines = model.PreparedAddAffines();
            var tables = model.PreparedAddTables();
            var avx512 = model.PreparedAddRequantizations();
            for (int i = 0; i < model.Ops.Count; i++)
            {
                var op = model.Ops[i];
                if (op.Type is not (OpType.Add or OpType.Sub) || model.Tensors[op.Input0].Shape != model.Tensors[op.Output0].Shape
                    || model.Tensors[op.Input1].Shape != model.Tensors[op.Output0].Shape)
                    continue;
                adds++;
                Assert.That(affines[i], Is.Not.Null, $"{System.IO.Path.GetFileName(file)} op {i}: the float32 form");
                Assert.That(tables[i], Is.Null, $"{System.IO.Path.GetFileName(file)} op {i}: no table beside it");
                // It runs first on AVX-512 machines too (faster there than the exact AVX-512 form: see Model.PreparedAddAffines).
                Assert.That(avx512[i], Is.Null, $"{System.IO.Path.GetFileName(file)} op {i}: no AVX-512 arithmetic form beside it");
            }
        }
        Assert.That(adds, Is.GreaterThanOrEqualTo(5), "the zoo's Adds were found");
    }

    /// <summary>The float32 Add/Sub with its output in place of either input, every length with and without a tail.</summary>
    [Test]
    public void AffineInPlaceEqualsTheReference([Values] bool subtract, [Values] bool intoSecond)
    {
        if (!Elementwise.AffineSupported)
            Assert.Ignore("not run: neither AVX2 with FMA nor arm64");
        var r = new Random(281 + (subtract ? 1 : 0) + (intoSecond ? 2 : 0));
        AddAffine? q = null;
        ElementwiseParams p = default;
        while (q is null)
        {
            p = Params(r, wild: false);
            q = Elementwise.PrepareAddAffine(p, subtract, new Shape4(1, 1, 1, 16), new Shape4(1, 1, 1, 16), new Shape4(1, 1, 1, 16));
        }
        AssertInPlace(r, p, subtract, q, intoSecond, [1, 15, 16, 17, 31, 32, 33, 100, 5488], "");
    }

    /// <summary>The float32 form <paramref name="q"/> with its output in place of one input, on random rows of each length, against the reference.</summary>
    private static void AssertInPlace(Random r, ElementwiseParams p, bool subtract, AddAffine q, bool intoSecond, int[] lengths, string what)
    {
        foreach (int n in lengths)
        {
            var shape = new Shape4(1, 1, 1, n);
            var x = FastPathCases.S8(r, n);
            var y = FastPathCases.S8(r, n);
            var expected = new sbyte[n];
            Elementwise.AddS8Reference(p, x, shape, y, shape, expected, shape, subtract);
            var into = intoSecond ? y : x;
            Elementwise.AddS8Affine(q, x, y, into);
            Assert.That(into, Is.EqualTo(expected), $"{what}{n} elements in place of the {(intoSecond ? "second" : "first")} input");
        }
    }

    [Test]
    public void RandomShapesBroadcastsAndTails([Values] Path path, [Values] bool subtract, [Values] bool wild)
    {
        if (path == Path.Avx2 && !System.Runtime.Intrinsics.X86.Avx2.IsSupported) Assert.Ignore("no AVX2");
        var r = new Random(61 + (subtract ? 1 : 0) + (wild ? 2 : 0));
        for (int i = 0; i < 80; i++)
        {
            // Innermost sizes 1..40 cover every tail of the 16-element steps.
            var outShape = new Shape4(r.Next(1, 3), r.Next(1, 4), r.Next(1, 5), i < 40 ? i + 1 : r.Next(1, 70));
            var aShape = Broadcast(r, outShape);
            var bShape = r.Next(3) == 0 ? outShape : Broadcast(r, outShape);
            if (r.Next(2) == 0) (aShape, bShape) = (bShape, aShape);
            var p = Params(r, wild);
            var a = FastPathCases.S8(r, aShape.FlatSize);
            var b = FastPathCases.S8(r, bShape.FlatSize);
            var expected = new sbyte[outShape.FlatSize];
            var output = new sbyte[outShape.FlatSize];
            Elementwise.AddS8Reference(p, a, aShape, b, bShape, expected, outShape, subtract);
            switch (path)
            {
                case Path.Avx2: Elementwise.EvalRows<Elementwise.Avx2AddRow>(p, a, aShape, b, bShape, output, outShape, subtract); break;
                case Path.Vector128: Elementwise.EvalRows<Elementwise.Vector128AddRow>(p, a, aShape, b, bShape, output, outShape, subtract); break;
                case Path.AdvSimd: Elementwise.EvalRows<Elementwise.AdvSimdAddRow>(p, a, aShape, b, bShape, output, outShape, subtract); break;
                default: Elementwise.AddS8(p, a, aShape, b, bShape, output, outShape, subtract); break;
            }
            int d = FastPathCases.FirstDifference(output, expected);
            Assert.That(d, Is.EqualTo(-1), () => $"{path}: a {aShape} b {bShape} out {outShape}: element {d} is {output[d]}, the reference gives {expected[d]}");
        }
    }
}
