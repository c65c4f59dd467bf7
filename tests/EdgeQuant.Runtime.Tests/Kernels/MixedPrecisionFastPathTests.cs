using EdgeQuant.Runtime.Format;
using EdgeQuant.Runtime.Kernels;
using EdgeQuant.Runtime.Math;
using EdgeQuant.Runtime.Tests.TestSupport;

namespace EdgeQuant.Runtime.Tests.Kernels;

/// <summary>
/// The int16 (16x8) fast paths against the reference kernels on random shapes: every channel tail of the 8-wide
/// vectors, inputs long enough to cross the 1024-element accumulation blocks, and the extreme codes
/// (−32768 × −128) that would overflow a 32-bit accumulator. Re-run with instruction sets disabled by
/// <see cref="FastPathChildProcessTests"/>.
/// </summary>
public class MixedPrecisionFastPathTests
{
    private static short[] S16(Rand r, int n, bool extreme)
    {
        var v = new short[n];
        for (int i = 0; i < n; i++) v[i] = extreme ? (short)(r.Bool() ? -32768 : 32767) : (short)r.Int(-32768, 32767);
        return v;
    }

    private static (int[] M, int[] S) Requant(Rand r, int n)
    {
        var m = new int[n];
        var s = new int[n];
        for (int i = 0; i < n; i++) (m[i], s[i]) = QuantMath.QuantizeMultiplier(r.Scale(1e-6, 1e-2));
        return (m, s);
    }

    [Test]
    public void FullyConnectedS16MatchesTheReference()
    {
        var r = new Rand(801);
        foreach (int cin in new[] { 1, 7, 8, 9, 15, 16, 17, 64, 1023, 1024, 1025, 2100 })
            foreach (bool extreme in new[] { false, true })
            {
                int cout = r.Int(1, 5), batches = r.Int(1, 3);
                var x = S16(r, batches * cin, extreme);
                var f = extreme ? Enumerable.Repeat((sbyte)-128, cout * cin).ToArray() : r.S8(cout * cin);
                var bias = Enumerable.Range(0, cout).Select(_ => (long)r.Int(-1 << 30, 1 << 30) << 8).ToArray();
                var (m, s) = Requant(r, cout);
                var p = new FullyConnectedParams { ActivationMin = -32768, ActivationMax = 32767, FoldedBiasOffset = -1 };
                var a = new short[batches * cout];
                var b = new short[batches * cout];
                Int16Ops.FullyConnectedS16Reference(p, x, batches, cin, f, cout, bias, m, s, a);
                Int16Ops.FullyConnectedS16(p, x, batches, cin, f, cout, bias, m, s, b);
                Assert.That(b, Is.EqualTo(a), $"cin {cin}, extreme {extreme}");
            }
    }

    [Test]
    public void ConvS16MatchesTheReference()
    {
        var r = new Rand(802);
        for (int trial = 0; trial < 60; trial++)
        {
            bool dw = trial % 2 == 1;
            bool extreme = trial % 7 == 0;
            int cin = r.Int(1, dw ? 27 : 40);
            int dm = dw ? (trial % 5 == 1 ? 2 : 1) : 1;
            int cout = dw ? cin * dm : r.Int(1, 9);
            int kh = r.Int(1, 4), kw = r.Int(1, 4), h = r.Int(kh, 9), w = r.Int(kw, 9);
            var p = new Conv2DParams
            {
                StrideH = r.Int(1, 2), StrideW = r.Int(1, 2), DilationH = r.Int(1, 2), DilationW = 1,
                PadTop = r.Int(0, 1), PadLeft = r.Int(0, 1), PadBottom = r.Int(0, 1), PadRight = 0,
                ActivationMin = trial % 3 == 0 ? 0 : -32768, ActivationMax = 32767, DepthMultiplier = dm, FoldedBiasOffset = -1,
            };
            int oh = (h + p.PadTop + p.PadBottom - ((kh - 1) * p.DilationH + 1)) / p.StrideH + 1;
            int ow = (w + p.PadLeft + p.PadRight - ((kw - 1) * p.DilationW + 1)) / p.StrideW + 1;
            if (oh < 1 || ow < 1) continue;
            var inShape = new Shape4(1, h, w, cin);
            var fShape = dw ? new Shape4(1, kh, kw, cout) : new Shape4(cout, kh, kw, cin);
            var outShape = new Shape4(1, oh, ow, cout);
            var x = S16(r, inShape.FlatSize, extreme);
            var f = extreme ? Enumerable.Repeat((sbyte)-128, fShape.FlatSize).ToArray() : r.S8(fShape.FlatSize);
            var bias = Enumerable.Range(0, cout).Select(_ => (long)r.Int(-1 << 30, 1 << 30)).ToArray();
            var (m, s) = Requant(r, cout);
            var a = new short[outShape.FlatSize];
            var b = new short[outShape.FlatSize];
            Int16Ops.ConvS16Reference(p, dw, x, inShape, f, fShape, bias, m, s, a, outShape);
            Int16Ops.ConvS16(p, dw, x, inShape, f, fShape, bias, m, s, b, outShape, new short[Int16Ops.PatchLength(fShape) + trial % 3]);
            Assert.That(b, Is.EqualTo(a), $"trial {trial}: depthwise {dw} x{dm}, in {inShape}, filter {fShape}, extreme {extreme}");
        }
    }

    private static float[] F32(Rand r, int n) => Enumerable.Range(0, n).Select(_ => (float)((r.Double() - 0.5) * System.Math.Pow(10, r.Int(-3, 3)))).ToArray();

    private static byte[] Bits(float[] v) => System.Runtime.InteropServices.MemoryMarshal.AsBytes(v.AsSpan()).ToArray();

    [Test]
    public void FloatLayersMatchTheReferenceBitForBit()
    {
        var r = new Rand(803);
        for (int trial = 0; trial < 60; trial++)
        {
            bool dw = trial % 2 == 1;
            int cin = r.Int(1, 19);
            int cout = dw ? cin : r.Int(1, 11);
            int kh = r.Int(1, 4), kw = r.Int(1, 4), h = r.Int(kh, 8), w = r.Int(kw, 8);
            var p = new DynamicConvParams
            {
                StrideH = r.Int(1, 2), StrideW = r.Int(1, 2), DilationH = 1, DilationW = r.Int(1, 2),
                PadTop = r.Int(0, 1), PadLeft = r.Int(0, 1), PadBottom = 0, PadRight = r.Int(0, 1), DepthMultiplier = 1,
                ActivationMin = trial % 3 == 0 ? 0 : float.NegativeInfinity, ActivationMax = trial % 4 == 0 ? 0.5f : float.PositiveInfinity,
            };
            int oh = (h + p.PadTop + p.PadBottom - kh) / p.StrideH + 1;
            int ow = (w + p.PadLeft + p.PadRight - ((kw - 1) * p.DilationW + 1)) / p.StrideW + 1;
            if (oh < 1 || ow < 1) continue;
            var inShape = new Shape4(1, h, w, cin);
            var fShape = dw ? new Shape4(1, kh, kw, cout) : new Shape4(cout, kh, kw, cin);
            var outShape = new Shape4(1, oh, ow, cout);
            var x = F32(r, inShape.FlatSize);
            var f = F32(r, fShape.FlatSize);
            var bias = F32(r, cout);
            var a = new float[outShape.FlatSize];
            var b = new float[outShape.FlatSize];
            FloatLayers.ConvF32Reference(p, dw, x, inShape, f, fShape, bias, a, outShape);
            FloatLayers.ConvF32(p, dw, x, inShape, f, dw ? null : FloatLayers.Transpose(f, cout), fShape, bias, b, outShape);
            Assert.That(Bits(b), Is.EqualTo(Bits(a)), $"trial {trial}: depthwise {dw}, in {inShape}, filter {fShape}");
        }
        foreach (int cin in new[] { 1, 3, 4, 5, 33 })
            foreach (int cout in new[] { 1, 3, 4, 7, 8, 9 })
            {
                var x = F32(r, 2 * cin);
                var f = F32(r, cout * cin);
                var bias = F32(r, cout);
                var a = new float[2 * cout];
                var b = new float[2 * cout];
                FloatLayers.FullyConnectedF32Reference(x, 2, cin, f, cout, bias, -1f, float.PositiveInfinity, a);
                FloatLayers.FullyConnectedF32(x, 2, cin, f, FloatLayers.Transpose(f, cout), cout, bias, -1f, float.PositiveInfinity, b);
                Assert.That(Bits(b), Is.EqualTo(Bits(a)), $"fully connected {cin} -> {cout}");
            }
    }
}
