using NUnit.Framework;
using EdgeQuant.Runtime.Format;

namespace EdgeQuant.Runtime.Tests.Kernels;

/// <summary>Random operands for the fast-path tests: shapes, int8 data and requantization parameters.</summary>
internal static class FastPathCases
{
    public static sbyte[] S8(Random r, int n, int lo = -128, int hi = 127)
    {
        var a = new sbyte[n];
        for (int i = 0; i < n; i++) a[i] = (sbyte)r.Next(lo, hi + 1);
        return a;
    }

    public static int[] I32(Random r, int n, int lo, int hi)
    {
        var a = new int[n];
        for (int i = 0; i < n; i++) a[i] = r.Next(lo, hi);
        return a;
    }

    /// <summary>Q0.31 multipliers in [2^30, 2^31).</summary>
    public static int[] Multipliers(Random r, int n)
    {
        var a = new int[n];
        for (int i = 0; i < n; i++) a[i] = (1 << 30) + r.Next(0, int.MaxValue - (1 << 30));
        return a;
    }

    /// <summary>A random Conv2D / DepthwiseConv2D with output size at least 1, and per-channel requantization.</summary>
    public sealed class Conv
    {
        public Conv2DParams P;
        public Shape4 In, Filter, Out;
        public sbyte[] Input = [], Weights = [];
        public int[] Bias = [], M = [], S = [];
        public bool IsDepthwise;

        public static Conv Random(Random r, bool depthwise, int cin, int cout, int kh, int kw, int maxMultiplier = 1)
        {
            var c = new Conv { IsDepthwise = depthwise };
            int sh = r.Next(1, 3), sw = r.Next(1, 3), dh = r.Next(1, 3), dw = r.Next(1, 3);
            int mult = depthwise ? r.Next(1, maxMultiplier + 1) : 1;
            if (depthwise) cout = cin * mult;
            int pt = r.Next(0, kh), pb = r.Next(0, kh), pl = r.Next(0, kw), pr = r.Next(0, kw);
            if (r.Next(4) == 0) pt = pb = pl = pr = 0;
            int effH = (kh - 1) * dh + 1, effW = (kw - 1) * dw + 1;
            int h = System.Math.Max(r.Next(1, 9), effH - pt - pb), w = System.Math.Max(r.Next(1, 10), effW - pl - pr);
            int oh = (h + pt + pb - effH) / sh + 1, ow = (w + pl + pr - effW) / sw + 1;
            int zp = r.Next(-128, 128);
            c.P = new Conv2DParams
            {
                StrideH = sh, StrideW = sw, DilationH = dh, DilationW = dw,
                PadTop = pt, PadLeft = pl, PadBottom = pb, PadRight = pr, DepthMultiplier = mult, FoldedBiasOffset = -1,
                InputOffset = -zp, OutputOffset = r.Next(-128, 128),
                ActivationMin = r.Next(3) == 0 ? r.Next(-128, 0) : -128, ActivationMax = r.Next(3) == 0 ? r.Next(0, 128) : 127,
            };
            c.In = new Shape4(r.Next(1, 3), h, w, cin);
            c.Filter = depthwise ? new Shape4(1, kh, kw, cout) : new Shape4(cout, kh, kw, cin);
            c.Out = new Shape4(c.In.D0, oh, ow, cout);
            c.Input = S8(r, c.In.FlatSize);
            c.Weights = S8(r, c.Filter.FlatSize, r.Next(2) == 0 ? -127 : -128, 127);
            c.Bias = I32(r, cout, -50000, 50000);
            c.M = Multipliers(r, cout);
            // Shifts that map the typical accumulator (about sqrt(taps) x 74^2) to tens of LSB, some saturating.
            int taps = kh * kw * (depthwise ? 1 : cin);
            int typical = (int)System.Math.Round(System.Math.Log2(System.Math.Sqrt(taps) * 74 * 74 / 40.0));
            c.S = I32(r, cout, -typical - 2, -typical + 3);
            return c;
        }

        /// <summary>The same convolution with depth multiplier <paramref name="m"/>: new filter, bias and requantization for Cin x m channels.</summary>
        public static Conv WithDepthMultiplier(Random r, Conv c, int m)
        {
            int cout = c.In.D3 * m;
            c.P.DepthMultiplier = m;
            c.Filter = new Shape4(1, c.Filter.D1, c.Filter.D2, cout);
            c.Out = new Shape4(c.Out.D0, c.Out.D1, c.Out.D2, cout);
            c.Weights = S8(r, c.Filter.FlatSize, -128, 127);
            c.Bias = I32(r, cout, -50000, 50000);
            c.M = Multipliers(r, cout);
            int typical = (int)System.Math.Round(System.Math.Log2(System.Math.Sqrt(c.Filter.D1 * c.Filter.D2) * 74 * 74 / 40.0));
            c.S = I32(r, cout, -typical - 2, -typical + 3);
            return c;
        }

        public sbyte[] Reference()
        {
            var o = new sbyte[Out.FlatSize];
            if (IsDepthwise)
                Runtime.Kernels.DepthwiseConv2D.EvalS8Reference(P, Input, In, Weights, Filter, Bias, M, S, o, Out);
            else
                Runtime.Kernels.Conv2D.EvalS8Reference(P, Input, In, Weights, Filter, Bias, M, S, o, Out);
            return o;
        }

        public override string ToString() =>
            $"in {In} filter {Filter} out {Out} stride ({P.StrideH},{P.StrideW}) dilation ({P.DilationH},{P.DilationW}) " +
            $"pads ({P.PadTop},{P.PadLeft},{P.PadBottom},{P.PadRight}) multiplier {P.DepthMultiplier} inputOffset {P.InputOffset}";
    }

    /// <summary>Index of the first differing element, or -1.</summary>
    public static int FirstDifference(ReadOnlySpan<sbyte> a, ReadOnlySpan<sbyte> b)
    {
        for (int i = 0; i < a.Length; i++) if (a[i] != b[i]) return i;
        return a.Length == b.Length ? -1 : a.Length;
    }
}
