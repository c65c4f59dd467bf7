using EdgeQuant.Runtime.Format;
using EdgeQuant.Runtime.Kernels;
using EdgeQuant.Runtime.Tests.TestSupport;

namespace EdgeQuant.Runtime.Tests.Kernels;

public class ConcatenationTests
{
    /// <summary>Places each input along the axis, as the interpreter does.</summary>
    private static sbyte[] Concat(int axis, (sbyte[] Data, Shape4 Shape, int Offset, int M, int S)[] inputs, Shape4 outShape, int outputOffset)
    {
        var y = new sbyte[outShape.FlatSize];
        int at = 0;
        foreach (var i in inputs)
        {
            Concatenation.EvalInputS8(i.Data, i.Shape, y, outShape, axis, at, i.Offset, i.M, i.S, outputOffset);
            at += i.Shape[axis];
        }
        return y;
    }

    [Test]
    public void CopiesAlongChannels()
    {
        var y = Concat(3, [([1, 2, 3, 4], new(1, 1, 2, 2), 0, 0, 0), ([9, 8], new(1, 1, 2, 1), 0, 0, 0)], new(1, 1, 2, 3), 0);
        Assert.That(y, Is.EqualTo(new sbyte[] { 1, 2, 9, 3, 4, 8 }));
    }

    [Test]
    public void CopiesAlongHeight()
    {
        var y = Concat(1, [([1, 2], new(1, 1, 2, 1), 0, 0, 0), ([3, 4, 5, 6], new(1, 2, 2, 1), 0, 0, 0)], new(1, 3, 2, 1), 0);
        Assert.That(y, Is.EqualTo(new sbyte[] { 1, 2, 3, 4, 5, 6 }));
    }

    [Test]
    public void RescalesAnInputWithDifferentQuantization()
    {
        // Input scale 0.5 zp 4 into output scale 1 zp -1: (x - 4) * 0.5 - 1. For x = -1 the product
        // -2.5 is a tie, which the high multiply rounds up to -2 (the float result would round to -3).
        var (off, m, s) = ConverterMath.ConcatInput(0.5f, 4, 1f, -1);
        var y = Concat(3, [([10, 4, -1, 127], new(1, 1, 1, 4), off, m, s)], new(1, 1, 1, 4), -1);
        Assert.That(y, Is.EqualTo(new sbyte[] { 2, -1, -3, 61 }));
        var (_, m2, _) = ConverterMath.ConcatInput(0.25f, 3, 0.25f, 3);
        Assert.That(m2, Is.Zero, "identical quantization is marked by multiplier 0 (copy)");
    }

    /// <summary>
    /// The vector rescaling (AVX2 or Vector128 / NEON) against the element-at-a-time reference: every
    /// length 0..70 (16-element steps and every tail), converter-style and extreme multipliers and
    /// shifts (left shifts, 2^31 - 1, the int.MinValue saturation), along channels and along height.
    /// </summary>
    [Test]
    public void VectorRescalingMatchesTheReference()
    {
        var r = new Random(7002);
        for (int c = 1; c <= 70; c++)
            for (int trial = 0; trial < 4; trial++)
            {
                int m = trial switch { 0 => r.Next(1 << 30, int.MaxValue), 1 => int.MaxValue, 2 => int.MinValue, _ => r.Next(1, int.MaxValue) };
                int sh = trial == 3 ? r.Next(-31, 8) : r.Next(-12, 2);
                int off = r.Next(-255, 256), outOff = r.Next(-128, 128);
                int axis = trial % 2 == 0 ? 3 : 1;
                var inShape = axis == 3 ? new Shape4(1, 2, 3, c) : new Shape4(1, c, 2, 1);
                var outShape = axis == 3 ? new Shape4(1, 2, 3, c + 5) : new Shape4(1, c + 5, 2, 1);
                var x = new sbyte[inShape.FlatSize];
                r.NextBytes(System.Runtime.InteropServices.MemoryMarshal.AsBytes(x.AsSpan()));
                var expected = new sbyte[outShape.FlatSize];
                var got = new sbyte[outShape.FlatSize];
                Concatenation.EvalInputS8Reference(x, inShape, expected, outShape, axis, 5, off, m, sh, outOff);
                Concatenation.EvalInputS8(x, inShape, got, outShape, axis, 5, off, m, sh, outOff);
                Assert.That(got, Is.EqualTo(expected), $"C {c}, axis {axis}, multiplier {m}, shift {sh}, input offset {off}, output offset {outOff}");
            }
    }

    /// <summary>
    /// The vector lookup of an input's 256-value function (Concatenation.Vector128.cs, Simd/TableMap.cs: AVX-512 VBMI or
    /// arm64 TBL/TBX): runs of 1-200 channels on
    /// maps up to 24x24 (blocks of whole runs, 64-byte steps with an overlapping last one), a run longer than a block
    /// (along height), every axis, the extreme multipliers and shifts, against the reference. Reports itself as not
    /// run where there is no such lookup.
    /// </summary>
    [Test]
    public void WholeFunctionLookupMatchesTheReference()
    {
        if (!Runtime.Kernels.Simd.TableMap.IsSupported) Assert.Ignore("not run: no vector table lookup here (AVX-512 VBMI or arm64)");
        var r = new Random(7004);
        int ran = 0;
        foreach (int c in new[] { 1, 3, 16, 28, 60, 63, 64, 65, 130, 200 })
            for (int trial = 0; trial < 6; trial++)
            {
                int m = trial switch { 0 => r.Next(1 << 30, int.MaxValue), 1 => int.MaxValue, 2 => int.MinValue, _ => r.Next(1, int.MaxValue) };
                int sh = trial == 3 ? r.Next(-31, 8) : r.Next(-12, 2);
                int off = r.Next(-255, 256), outOff = r.Next(-128, 128);
                int axis = trial % 4, h = r.Next(1, 25), w = r.Next(1, 25);
                var inShape = axis switch
                {
                    0 => new Shape4(1, h, w, c),
                    1 => new Shape4(1, c * 40, 2, 3), // one run of c x 240 bytes: longer than a block for the larger c
                    2 => new Shape4(1, h, c, 2),
                    _ => new Shape4(1, h, w, c),
                };
                int extra = 1 + r.Next(7);
                var outShape = axis switch
                {
                    0 => new Shape4(1 + extra, h, w, c),
                    1 => new Shape4(1, c * 40 + extra, 2, 3),
                    2 => new Shape4(1, h, c + extra, 2),
                    _ => new Shape4(1, h, w, c + extra),
                };
                var x = new sbyte[inShape.FlatSize];
                r.NextBytes(System.Runtime.InteropServices.MemoryMarshal.AsBytes(x.AsSpan()));
                var expected = new sbyte[outShape.FlatSize];
                var got = new sbyte[outShape.FlatSize];
                expected.AsSpan().Fill(77);
                got.AsSpan().Fill(77);
                Concatenation.EvalInputS8Reference(x, inShape, expected, outShape, axis, extra, off, m, sh, outOff);
                Concatenation.EvalInputS8(x, inShape, got, outShape, axis, extra, off, m, sh, outOff);
                Assert.That(got, Is.EqualTo(expected), $"{inShape} into {outShape} on axis {axis}, multiplier {m}, shift {sh}, offsets {off}/{outOff}");
                // The interpreter's form: the table built once by the reference arithmetic, then mapped.
                var mapped = new sbyte[outShape.FlatSize];
                mapped.AsSpan().Fill(77);
                Concatenation.EvalInputS8Mapped(Concatenation.RescaleTable(off, m, sh, outOff), x, inShape, mapped, outShape, axis, extra);
                Assert.That(mapped, Is.EqualTo(expected), $"mapped: {inShape} into {outShape} on axis {axis}, multiplier {m}, shift {sh}");
                if (inShape.FlatSize >= Concatenation.RescaleTableMinElements) ran++;
            }
        Assert.That(ran, Is.GreaterThan(30));
    }

    /// <summary>
    /// The float32 form of a rescaling (AVX2 with FMA): on every axis, runs of 16-200 bytes (a last step overlapping the
    /// one before, or none), extreme and typical multipliers and shifts, equal to the reference wherever it is prepared,
    /// and refused only where the form really differs from the table on some value (computed here by a scalar FMA and
    /// round to nearest, as the kernel does). Typical parameters (the shifts of a Concatenation's inputs, -2 to 1) are
    /// mostly covered.
    /// </summary>
    [Test]
    public void AffineRescalingMatchesTheReference()
    {
        if (!System.Runtime.Intrinsics.X86.Avx2.IsSupported || !System.Runtime.Intrinsics.X86.Fma.IsSupported)
            Assert.Ignore("not run: no AVX2 with FMA");
        var r = new Random(7005);
        int prepared = 0, typical = 0, typicalPrepared = 0;
        foreach (int c in new[] { 16, 17, 28, 31, 32, 60, 63, 64, 65, 130, 200 })
            for (int trial = 0; trial < 8; trial++)
            {
                int m = trial switch { 0 => r.Next(1 << 30, int.MaxValue), 1 => int.MaxValue, 2 => int.MinValue, _ => r.Next(1 << 30, int.MaxValue) };
                int sh = trial == 3 ? r.Next(-31, 8) : r.Next(-2, 2);
                int off = r.Next(-255, 256), outOff = r.Next(-128, 128);
                int axis = trial % 4, h = r.Next(1, 9), w = r.Next(1, 9);
                var inShape = axis switch
                {
                    0 => new Shape4(1, h, w, c),
                    1 => new Shape4(1, c, 1, 1),
                    2 => new Shape4(1, h, c, 1),
                    _ => new Shape4(1, h, w, c),
                };
                int extra = 1 + r.Next(7);
                var outShape = axis switch
                {
                    0 => new Shape4(1 + extra, h, w, c),
                    1 => new Shape4(1, c + extra, 1, 1),
                    2 => new Shape4(1, h, c + extra, 1),
                    _ => new Shape4(1, h, w, c + extra),
                };
                int chunk = 1;
                for (int d = axis; d < 4; d++) chunk *= inShape[d];
                var table = Concatenation.RescaleTable(off, m, sh, outOff);
                var q = Concatenation.PrepareRescaleAffine(off, m, sh, outOff, table, chunk);
                bool isTypical = trial >= 4 && m > 0;
                if (isTypical) typical++;
                if (q is null)
                {
                    Assert.That(FloatFormDiffers(table, off, m, sh, outOff), Is.True, $"refused, yet the float form equals the table: multiplier {m}, shift {sh}, offsets {off}/{outOff}");
                    continue;
                }
                prepared++;
                if (isTypical) typicalPrepared++;
                var x = new sbyte[inShape.FlatSize];
                r.NextBytes(System.Runtime.InteropServices.MemoryMarshal.AsBytes(x.AsSpan()));
                var expected = new sbyte[outShape.FlatSize];
                var got = new sbyte[outShape.FlatSize];
                expected.AsSpan().Fill(77);
                got.AsSpan().Fill(77);
                Concatenation.EvalInputS8Reference(x, inShape, expected, outShape, axis, extra, off, m, sh, outOff);
                Concatenation.EvalInputS8Affine(q, x, inShape, got, outShape, axis, extra);
                Assert.That(got, Is.EqualTo(expected), $"{inShape} into {outShape} on axis {axis}, multiplier {m}, shift {sh}, offsets {off}/{outOff}");
            }
        Assert.That(Concatenation.PrepareRescaleAffine(0, 1 << 30, 0, 0, Concatenation.RescaleTable(0, 1 << 30, 0, 0), 15), Is.Null, "runs under 16 bytes keep the table");
        TestContext.Out.WriteLine($"prepared {prepared}, typical {typicalPrepared} of {typical}");
        Assert.That(typicalPrepared, Is.GreaterThanOrEqualTo(typical * 2 / 3), "typical parameters are mostly covered");
    }

    // Whether the float32 form as PrepareRescaleAffine builds it (the first rounding by a scalar FMA and round to nearest,
    // the rounding shift as the reference's) differs from the table on some value.
    private static bool FloatFormDiffers(sbyte[] table, int off, int m, int sh, int outOff)
    {
        double scale = System.Math.ScaleB((double)m, System.Math.Max(sh, 0) - 31), offset = scale * off;
        if (!(System.Math.Abs(scale) * 128 + System.Math.Abs(offset) < 1 << 29) || sh < -31)
            return true;
        float sf = (float)scale, of = (float)offset;
        int e = System.Math.Max(-sh, 0);
        for (int x = -128; x < 128; x++)
        {
            int r = (int)MathF.Round(MathF.FusedMultiplyAdd(sf, x, of), MidpointRounding.ToEven);
            if (e > 0) r = (r + (1 << (e - 1)) + (r >> 31)) >> e;
            int v = System.Math.Clamp(r + outOff, -128, 127);
            if (v != table[x & 255])
                return true;
        }
        return false;
    }

    /// <summary>
    /// Many short runs (1-15 channels on a 20x20 map, and a long one along height): the 256-value lookup table
    /// built by the vector code, against the element-at-a-time reference, over the same extreme parameters.
    /// </summary>
    [Test]
    public void LookupTableForShortRunsMatchesTheReference()
    {
        var r = new Random(7003);
        for (int c = 1; c <= 15; c++)
            for (int trial = 0; trial < 4; trial++)
            {
                int m = trial switch { 0 => r.Next(1 << 30, int.MaxValue), 1 => int.MaxValue, 2 => int.MinValue, _ => r.Next(1, int.MaxValue) };
                int sh = trial == 3 ? r.Next(-31, 8) : r.Next(-12, 2);
                int off = r.Next(-255, 256), outOff = r.Next(-128, 128);
                var inShape = new Shape4(1, 20, 20, c);
                var outShape = new Shape4(1, 20, 20, c + 3);
                var x = new sbyte[inShape.FlatSize];
                r.NextBytes(System.Runtime.InteropServices.MemoryMarshal.AsBytes(x.AsSpan()));
                var expected = new sbyte[outShape.FlatSize];
                var got = new sbyte[outShape.FlatSize];
                Concatenation.EvalInputS8Reference(x, inShape, expected, outShape, 3, 3, off, m, sh, outOff);
                Concatenation.EvalInputS8(x, inShape, got, outShape, 3, 3, off, m, sh, outOff);
                Assert.That(got, Is.EqualTo(expected), $"C {c}, multiplier {m}, shift {sh}, input offset {off}, output offset {outOff}");
            }
    }

    [Test]
    public void RandomInputsOnEveryAxisMatchFloatSimulation()
    {
        var r = new Rand(7001);
        for (int i = 0; i < 300; i++)
        {
            int axis = r.Int(0, 3), count = r.Int(1, 4);
            var baseShape = new int[] { r.Int(1, 3), r.Int(1, 4), r.Int(1, 4), r.Int(1, 5) };
            float sOut = r.Scale(0.01, 0.5);
            int zOut = r.Int(-40, 40);
            var inputs = new (sbyte[] Data, Shape4 Shape, int Offset, int M, int S)[count];
            var reals = new List<(double[] Real, Shape4 Shape)>();
            int total = 0;
            for (int k = 0; k < count; k++)
            {
                var d = (int[])baseShape.Clone();
                d[axis] = r.Int(1, 4);
                total += d[axis];
                var shape = new Shape4(d[0], d[1], d[2], d[3]);
                bool same = r.Int(0, 2) == 0;
                float s = same ? sOut : r.Scale(0.01, 0.5);
                int z = same ? zOut : r.Int(-40, 40);
                var x = r.S8(shape.FlatSize);
                var (off, m, sh) = ConverterMath.ConcatInput(s, z, sOut, zOut);
                inputs[k] = (x, shape, off, m, sh);
                reals.Add((x.Select(v => (v - z) * (double)s).ToArray(), shape));
            }
            var od = (int[])baseShape.Clone();
            od[axis] = total;
            var outShape = new Shape4(od[0], od[1], od[2], od[3]);

            var expected = new sbyte[outShape.FlatSize];
            int outer = 1, inner = 1;
            for (int d = 0; d < axis; d++) outer *= outShape[d];
            for (int d = axis + 1; d < 4; d++) inner *= outShape[d];
            int at = 0;
            foreach (var (real, shape) in reals)
            {
                for (int o = 0; o < outer; o++)
                    for (int a = 0; a < shape[axis]; a++)
                        for (int n = 0; n < inner; n++)
                            expected[(o * total + at + a) * inner + n] = ConverterMath.Quantize(real[(o * shape[axis] + a) * inner + n], sOut, zOut);
                at += shape[axis];
            }
            Lsb.AssertWithin(Concat(axis, inputs, outShape, zOut), expected, 1, $"case {i}: axis {axis}, {count} inputs to {outShape}");
        }
    }
}
