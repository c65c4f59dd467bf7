using EdgeQuant.Runtime.Format;
using EdgeQuant.Runtime.Kernels;
using EdgeQuant.Runtime.Tests.TestSupport;

namespace EdgeQuant.Runtime.Tests.Kernels;

/// <summary>
/// The dynamic ops' fast paths against their reference on random shapes (every tail length of the
/// 16-wide inner product, depthwise channel counts around the 8-channel blocks); rerun with
/// instruction sets disabled by <see cref="FastPathChildProcessTests"/>.
/// </summary>
public class DynamicQuantizationFastPathTests
{
    private static float[] Floats(Rand r, int n, double lo, double hi)
    {
        var x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float)(lo + r.Double() * (hi - lo));
        return x;
    }

    [Test]
    public void FullyConnectedEqualsReferenceForEveryTailLength()
    {
        var r = new Rand(70);
        for (int cin = 1; cin <= 70; cin++)
        {
            int batches = r.Int(1, 3), cout = r.Int(1, 9);
            var x = Floats(r, batches * cin, r.Bool() ? -3 : 0, 5);
            var w = r.S8(cout * cin, -128, 127);
            var scales = r.Bool() ? r.Scales(cout, 0.001, 0.05) : [0.01f];
            var bias = Floats(r, cout, -1, 1);
            float min = r.Bool() ? 0 : float.NegativeInfinity, max = r.Bool() ? 6 : float.PositiveInfinity;
            var a = new float[batches * cout];
            var b = new float[batches * cout];
            DynamicFullyConnected.EvalF32Reference(x, batches, cin, w, cout, scales, bias, min, max, new byte[batches * cin], a);
            DynamicFullyConnected.EvalF32(x, batches, cin, w, cout, scales, bias, min, max, new byte[batches * cin], b);
            Assert.That(System.Runtime.InteropServices.MemoryMarshal.AsBytes(b.AsSpan()).ToArray(),
                Is.EqualTo(System.Runtime.InteropServices.MemoryMarshal.AsBytes(a.AsSpan()).ToArray()), $"cin {cin}");
        }
    }

    [Test]
    public void ConvolutionEqualsReferenceOnRandomShapes()
    {
        var r = new Rand(71);
        for (int trial = 0; trial < 90; trial++)
        {
            bool dw = trial % 3 == 2;
            int cin = r.Int(1, 37), h = r.Int(1, 9), w = r.Int(1, 9), kh = r.Int(1, 4), kw = r.Int(1, 4);
            int mult = dw && r.Bool() ? r.Int(2, 3) : 1;
            int cout = dw ? cin * mult : r.Int(1, 8);
            var p = new DynamicConvParams
            {
                StrideH = r.Int(1, 3), StrideW = r.Int(1, 3), DilationH = r.Int(1, 2), DilationW = r.Int(1, 2),
                PadTop = r.Int(0, 2), PadLeft = r.Int(0, 2), PadBottom = r.Int(0, 2), PadRight = r.Int(0, 2),
                DepthMultiplier = mult, ActivationMin = r.Bool() ? 0 : float.NegativeInfinity, ActivationMax = float.PositiveInfinity,
            };
            int oh = (h + p.PadTop + p.PadBottom - ((kh - 1) * p.DilationH + 1)) / p.StrideH + 1;
            int ow = (w + p.PadLeft + p.PadRight - ((kw - 1) * p.DilationW + 1)) / p.StrideW + 1;
            if (h + p.PadTop + p.PadBottom < (kh - 1) * p.DilationH + 1 || w + p.PadLeft + p.PadRight < (kw - 1) * p.DilationW + 1) continue;
            Shape4 inShape = new(1, h, w, cin), outShape = new(1, oh, ow, cout);
            Shape4 fShape = dw ? new(1, kh, kw, cout) : new(cout, kh, kw, cin);
            var x = Floats(r, inShape.FlatSize, -2, 3);
            var filter = r.S8(fShape.FlatSize, -128, 127);
            var scales = r.Scales(cout, 0.001, 0.05);
            var bias = Floats(r, cout, -1, 1);
            var a = new float[outShape.FlatSize];
            var b = new float[outShape.FlatSize];
            DynamicConv2D.EvalF32Reference(p, dw, x, inShape, filter, fShape, scales, bias, new byte[x.Length], a, outShape);
            DynamicConv2D.EvalF32(p, dw, x, inShape, filter, fShape, scales, bias, new byte[x.Length], b, outShape);
            Assert.That(System.Runtime.InteropServices.MemoryMarshal.AsBytes(b.AsSpan()).ToArray(),
                Is.EqualTo(System.Runtime.InteropServices.MemoryMarshal.AsBytes(a.AsSpan()).ToArray()), $"trial {trial}: {inShape} {fShape} dw {dw}");
        }
    }
}
