using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using EdgeQuant.Runtime.Format;
using EdgeQuant.Runtime.Kernels;
using EdgeQuant.Runtime.Kernels.Simd;
using EdgeQuant.Runtime.Math;
using NUnit.Framework;

namespace EdgeQuant.Runtime.Tests.Kernels;

/// <summary>
/// The AVX-512 small-K GEMM (Int8Gemm.SmallK.Avx512.cs: 1x1 convolutions and FullyConnected with K &lt;= 40) and
/// its exact 16-lane requantization (SimdOps512) against the reference, byte for byte, on random shapes with the
/// channel counts of real models (12, 20, 36, 90, 150 and odd ones), per-channel multipliers, right shifts, left
/// shifts (which the kernel declines, leaving them to the AVX2 kernel) and activation bounds. On a CPU without
/// AVX-512 (or with DOTNET_EnableAVX512=0) the tests of the AVX-512 code report themselves as not run; the
/// dispatch tests still run there and check the bytes of whichever kernel the machine takes.
/// </summary>
[TestFixture]
public class SmallKGemmFastPathTests
{
    private static readonly int[] Ks = [1, 2, 3, 5, 8, 12, 15, 16, 17, 20, 24, 27, 31, 32, 33, 36, 39, 40];
    private static readonly int[] Couts = [1, 2, 3, 4, 7, 8, 12, 16, 17, 18, 19, 20, 24, 34, 35, 36, 40, 90, 150];

    private static void RequireAvx512()
    {
        if (!Avx512BW.IsSupported)
            Assert.Ignore("not run: this CPU has no AVX-512BW (or DOTNET_EnableAVX512=0); the AVX2 kernel runs instead");
    }

    /// <summary>Right shifts in [-lo, -1] around what maps an accumulator of K taps to tens of LSB.</summary>
    private static int[] RightShifts(Random r, int n, int k)
    {
        int typical = (int)System.Math.Round(System.Math.Log2(System.Math.Sqrt(k) * 74 * 74 / 40.0));
        var s = new int[n];
        for (int i = 0; i < n; i++) s[i] = System.Math.Min(-1, r.Next(-typical - 3, -typical + 3));
        return s;
    }

    [Test]
    public void RequantizerEqualsTheReferenceOnEveryTie()
    {
        RequireAvx512();
        // M = 2^30 halves x exactly, so odd x is a tie of the high multiply and h = 2^(r-1) mod 2^r a tie of the shift:
        // every x in a dense range hits both roundings of both signs. Plus random multipliers, 0 and the largest.
        var r = new Random(11);
        int[] special = [1 << 30, (1 << 30) + 1, int.MaxValue, 0, 1_500_000_000];
        for (int round = 0; round < 60; round++)
        {
            int right = round < 31 ? round + 1 : r.Next(1, 16);
            int offset = r.Next(-128, 128);
            var m = new int[16];
            var s = new int[16];
            for (int c = 0; c < 16; c++)
            {
                m[c] = c < special.Length ? special[c] : FastPathCases.Multipliers(r, 1)[0];
                s[c] = -(c % 2 == 0 ? right : r.Next(1, 32));
            }
            // The largest accumulator magnitude the conditions allow for these shifts.
            long bound = (1 << 30) - 1;
            foreach (int sh in s)
                bound = System.Math.Min(bound, int.MaxValue - 1 - (1L << (-sh - 1)) - ((long)System.Math.Abs(offset) << -sh));
            if (bound < 0)
                continue;
            RightRequantTable? slot = null;
            var table = RightRequantTable.Get(ref slot, m, s, offset, -128, 127, bound);
            Assert.That(table.Covered, Is.True, $"round {round}");
            var rq = new SimdOps512.RightRequantizer(table, 0);
            var x = new int[16];
            for (int start = -4100; start < 4100; start += 16)
            {
                for (int c = 0; c < 16; c++) x[c] = start + c;
                Check(rq, x, m, s, offset);
            }
            for (int t = 0; t < 400; t++)
            {
                for (int c = 0; c < 16; c++)
                    x[c] = t < 4 ? (t % 2 == 0 ? 1 : -1) * (int)bound + (c % 3 - 1) * (t / 2) : (int)r.NextInt64(-bound, bound + 1);
                for (int c = 0; c < 16; c++) x[c] = (int)System.Math.Clamp(x[c], -bound, bound);
                Check(rq, x, m, s, offset);
            }
        }
    }

    private static void Check(SimdOps512.RightRequantizer rq, int[] x, int[] m, int[] s, int offset)
    {
        var doubled = new int[16];
        for (int c = 0; c < 16; c++) doubled[c] = 2 * x[c];
        var got = rq.Apply(Vector512.Create(doubled));
        for (int c = 0; c < 16; c++)
        {
            int expected = QuantMath.MultiplyByQuantizedMultiplier(x[c], m[c], s[c]) + offset;
            Assert.That(got.GetElement(c), Is.EqualTo(expected), $"x {x[c]}, M {m[c]}, shift {s[c]}, offset {offset}");
        }
        var bytes = SimdOps512.NarrowClamp(got, Vector128.Create((sbyte)-100), Vector128.Create((sbyte)90));
        for (int c = 0; c < 16; c++)
            Assert.That(bytes.GetElement(c), Is.EqualTo((sbyte)System.Math.Clamp(got.GetElement(c), -100, 90)));
        // Without the sign term (a fused ReLU: activationMin >= outputOffset), equal after the clamp.
        int min = System.Math.Clamp(offset, -128, 127);
        var clamped = SimdOps512.NarrowClamp(rq.ApplyClamped(Vector512.Create(doubled)), Vector128.Create((sbyte)min), Vector128.Create((sbyte)127));
        for (int c = 0; c < 16; c++)
        {
            int expected = QuantMath.MultiplyByQuantizedMultiplier(x[c], m[c], s[c]) + offset;
            Assert.That(clamped.GetElement(c), Is.EqualTo((sbyte)System.Math.Clamp(expected, min, 127)), $"clamped: x {x[c]}, M {m[c]}, shift {s[c]}, offset {offset}");
        }
    }

    [Test]
    public void TableRefusesWhatTheExactFormDoesNotCover()
    {
        int[] m = [1 << 30, 1 << 30];
        Assert.That(RightRequantTable.Covers(m, [-5, -7], 10, -128, 127, 1_000_000), Is.True);
        Assert.That(RightRequantTable.Covers(m, [-5, 0], 10, -128, 127, 1_000_000), Is.False, "shift 0");
        Assert.That(RightRequantTable.Covers(m, [-5, 2], 10, -128, 127, 1_000_000), Is.False, "left shift");
        Assert.That(RightRequantTable.Covers(m, [-5, -32], 10, -128, 127, 1_000_000), Is.False, "shift below -31");
        Assert.That(RightRequantTable.Covers([1 << 30, -5], [-5, -7], 10, -128, 127, 1_000_000), Is.False, "negative multiplier");
        Assert.That(RightRequantTable.Covers(m, [-5, -7], 10, -128, 127, 1 << 30), Is.False, "accumulator bound (2x must fit int32)");
        Assert.That(RightRequantTable.Covers(m, [-5, -31], 0, -128, 127, (1 << 30) - 1), Is.False, "accumulator bound plus rounding term");
        Assert.That(RightRequantTable.Covers(m, [-5, -28], 10, -128, 127, 1_000), Is.False, "offset x 2^28 overflows int32");
        Assert.That(RightRequantTable.Covers(m, [-5, -7], 10, -129, 127, 1_000), Is.False, "bounds beyond int8");
        Assert.That(RightRequantTable.Covers(m, [-5, -7], 10, 5, 4, 1_000), Is.False, "min above max");
    }

    /// <summary>A random GEMM: rows x k int8 rows at aStride, [cout, k] weights, output rows at outStride.</summary>
    private sealed class Gemm
    {
        public int Rows, K, Cout, AStride, OutStride;
        public FullyConnectedParams P;
        public sbyte[] A = [], W = [];
        public int[] Bias = [], M = [], S = [];

        public static Gemm Random(Random r, int k, int cout, bool leftShifts = false)
        {
            var g = new Gemm { Rows = r.Next(1, 200), K = k, Cout = cout };
            g.AStride = k + (r.Next(3) == 0 ? r.Next(1, 40) : 0);
            g.OutStride = cout + (r.Next(3) == 0 ? r.Next(1, 20) : 0);
            int zp = r.Next(-128, 128);
            g.P = new FullyConnectedParams
            {
                InputOffset = -zp, OutputOffset = r.Next(-128, 128), FoldedBiasOffset = -1,
                ActivationMin = r.Next(3) == 0 ? r.Next(-128, 0) : -128, ActivationMax = r.Next(3) == 0 ? r.Next(0, 128) : 127,
            };
            g.A = FastPathCases.S8(r, (g.Rows - 1) * g.AStride + k);
            g.W = FastPathCases.S8(r, cout * k, r.Next(2) == 0 ? -127 : -128, 127);
            g.Bias = FastPathCases.I32(r, cout, -50000, 50000);
            g.M = FastPathCases.Multipliers(r, cout);
            g.S = RightShifts(r, cout, k);
            if (leftShifts)
                g.S[r.Next(cout)] = r.Next(0, 3);
            return g;
        }

        /// <summary>The reference's rows at OutStride, the gaps holding <paramref name="fill"/>.</summary>
        public sbyte[] Reference(sbyte fill)
        {
            var rows = new sbyte[Rows * K];
            for (int i = 0; i < Rows; i++) A.AsSpan(i * AStride, K).CopyTo(rows.AsSpan(i * K));
            var dense = new sbyte[Rows * Cout];
            FullyConnected.EvalS8Reference(P, rows, Rows, K, W, Cout, Bias, M, S, dense);
            var o = Output(fill);
            for (int i = 0; i < Rows; i++) dense.AsSpan(i * Cout, Cout).CopyTo(o.AsSpan(i * OutStride));
            return o;
        }

        /// <summary>The output rows and 64 bytes past the last one, all <paramref name="fill"/>: a kernel that stores past its rows changes them.</summary>
        public sbyte[] Output(sbyte fill)
        {
            var o = new sbyte[(Rows - 1) * OutStride + Cout + 64];
            o.AsSpan().Fill(fill);
            return o;
        }

        public override string ToString() => $"rows {Rows}, K {K}, Cout {Cout}, aStride {AStride}, outStride {OutStride}, " +
            $"offsets {P.InputOffset}/{P.OutputOffset}, bounds [{P.ActivationMin}, {P.ActivationMax}]";
    }

    /// <summary>The signature of the two short-K kernels.</summary>
    private delegate bool Kernel(ref sbyte a, nint aStride, int rows, PackedFilter pf, ReadOnlySpan<int> multipliers, ReadOnlySpan<int> shifts,
        int outputOffset, int activationMin, int activationMax, ref sbyte output, nint outStride);

    /// <summary>The filter packed for both kernels (<see cref="PackedFilter.Pairs"/> and the 1x1 <see cref="PackedFilter.Quads"/>).</summary>
    private static PackedFilter Pack(Gemm g) => PackedFilter.Create(g.W, g.Cout, g.K, g.Bias, g.P.InputOffset, pad: false, rowTaps: 0, rowTapsS16: false, quadRowTaps: g.K);

    [Test]
    public void KernelEqualsTheReference([ValueSource(nameof(Ks))] int k) => EqualsTheReference(k, Int8Gemm.TryRunSmallKAvx512);

    /// <summary>
    /// The VPDPBUSD form (Int8Gemm.SmallK.Vnni.cs) on the same cases; without AVX-VNNI through its exact emulation. Its last
    /// 1-8 channels take two rows per vector: the channel counts 1-8, 17-20, 24, 34-36 and 40 leave every rest.
    /// </summary>
    [Test]
    public void VnniKernelEqualsTheReference([ValueSource(nameof(Ks))] int k) => EqualsTheReference(k, Int8Gemm.TryRunSmallKVnni);

    private static void EqualsTheReference(int k, Kernel kernel)
    {
        RequireAvx512();
        var r = new Random(900 + k);
        foreach (int cout in Couts)
            for (int i = 0; i < 3; i++)
            {
                var g = Gemm.Random(r, k, cout);
                if (i == 1)
                {
                    // A fused ReLU: the kernel drops the sign term (SimdOps512 remark 5).
                    g.P.ActivationMin = g.P.OutputOffset;
                    g.P.ActivationMax = System.Math.Max(g.P.ActivationMax, g.P.OutputOffset);
                }
                var pf = Pack(g);
                // The gaps between output rows must stay as they were: 0x5A is not a value any output takes by chance here.
                var got = g.Output(0x5A);
                bool ran = kernel(ref MemoryMarshal.GetArrayDataReference(g.A), g.AStride, g.Rows, pf, g.M, g.S,
                    g.P.OutputOffset, g.P.ActivationMin, g.P.ActivationMax, ref MemoryMarshal.GetArrayDataReference(got), g.OutStride);
                Assert.That(ran, Is.EqualTo(g.Rows >= Int8Gemm.SmallKMinRows), g.ToString());
                if (!ran)
                    continue;
                int d = FastPathCases.FirstDifference(got, g.Reference(0x5A));
                Assert.That(d, Is.EqualTo(-1), () => $"element {d} (an output, or a gap between rows that must stay 0x5A); {g}");
            }
    }

    /// <summary>
    /// Rows K bytes apart with K a multiple of 4 are widened by one flat conversion per block of rows (WidenBlock): every
    /// such K, row counts around the 64-row block and the 32-byte step (a block of fewer than 32 bytes takes the row path),
    /// output rows dense and with gaps.
    /// </summary>
    [Test]
    public void ContiguousRowsEqualTheReference([Values(4, 8, 12, 16, 20, 24, 28, 32, 36, 40)] int k)
        => ContiguousRows(k, Int8Gemm.TryRunSmallKAvx512);

    /// <summary>
    /// The VPDPBUSD form's flat staging (64 bytes per step, the last overlapping) on the same row counts, and for K not a
    /// multiple of 4 its VPERMB staging (64 / k4 rows a step, with AVX-512 VBMI) and the rows after it.
    /// </summary>
    [Test]
    public void VnniContiguousRowsEqualTheReference([Values(1, 3, 4, 8, 10, 12, 15, 16, 18, 20, 24, 27, 28, 32, 36, 39, 40)] int k)
        => ContiguousRows(k, Int8Gemm.TryRunSmallKVnni);

    private static void ContiguousRows(int k, Kernel kernel)
    {
        RequireAvx512();
        var r = new Random(4100 + k);
        // Past 64 rows the VPMADDWD form stages several blocks, past 10,240 bytes of rows (256 rows of K = 40, 2,560 of K = 4)
        // the VPDPBUSD form: equal blocks, a multiple of 4 rows each, the last one shorter.
        foreach (int rows in new[] { 4, 5, 7, 8, 63, 64, 65, 127, 129, 784, 1101, 2563 })
            foreach (int cout in new[] { 4, 8, 16, 20, 24, 36, 40 })
            {
                var g = Gemm.Random(r, k, cout);
                g.Rows = rows;
                g.AStride = k;
                g.A = FastPathCases.S8(r, rows * k);
                if (rows % 2 == 0)
                {
                    // A fused ReLU (the folded-start requantization).
                    g.P.ActivationMin = g.P.OutputOffset;
                    g.P.ActivationMax = System.Math.Max(g.P.ActivationMax, g.P.OutputOffset);
                }
                var pf = Pack(g);
                var got = g.Output(0x5A);
                Assert.That(kernel(ref MemoryMarshal.GetArrayDataReference(g.A), g.AStride, g.Rows, pf, g.M, g.S,
                    g.P.OutputOffset, g.P.ActivationMin, g.P.ActivationMax, ref MemoryMarshal.GetArrayDataReference(got), g.OutStride), Is.True, g.ToString());
                int d = FastPathCases.FirstDifference(got, g.Reference(0x5A));
                Assert.That(d, Is.EqualTo(-1), () => $"element {d}; {g}");
            }
    }

    [Test]
    public void KernelDeclinesLeftShiftsAndLongRows()
    {
        RequireAvx512();
        var r = new Random(77);
        var g = Gemm.Random(r, 20, 36, leftShifts: true);
        g.Rows = System.Math.Max(g.Rows, 8);
        g.A = FastPathCases.S8(r, (g.Rows - 1) * g.AStride + g.K);
        var pf = PackedFilter.Create(g.W, 36, 20, g.Bias, g.P.InputOffset, pad: false);
        var got = g.Output(0);
        Assert.That(Int8Gemm.TryRunSmallKAvx512(ref MemoryMarshal.GetArrayDataReference(g.A), g.AStride, g.Rows, pf, g.M, g.S,
            g.P.OutputOffset, g.P.ActivationMin, g.P.ActivationMax, ref MemoryMarshal.GetArrayDataReference(got), g.OutStride), Is.False);
        Assert.That(RunsLongK(r, Int8Gemm.TryRunSmallKAvx512), Is.False, "K = 41");
    }

    [Test]
    public void VnniKernelDeclinesLeftShiftsLongRowsAndMissingQuads()
    {
        RequireAvx512();
        var r = new Random(78);
        var g = Gemm.Random(r, 20, 36, leftShifts: true);
        g.Rows = System.Math.Max(g.Rows, 8);
        g.A = FastPathCases.S8(r, (g.Rows - 1) * g.AStride + g.K);
        var got = g.Output(0);
        Assert.That(Int8Gemm.TryRunSmallKVnni(ref MemoryMarshal.GetArrayDataReference(g.A), g.AStride, g.Rows, Pack(g), g.M, g.S,
            g.P.OutputOffset, g.P.ActivationMin, g.P.ActivationMax, ref MemoryMarshal.GetArrayDataReference(got), g.OutStride), Is.False, "left shift");
        g.S = RightShifts(r, 36, 20);
        var noQuads = PackedFilter.Create(g.W, 36, 20, g.Bias, g.P.InputOffset, pad: false);
        Assert.That(Int8Gemm.TryRunSmallKVnni(ref MemoryMarshal.GetArrayDataReference(g.A), g.AStride, g.Rows, noQuads, g.M, g.S,
            g.P.OutputOffset, g.P.ActivationMin, g.P.ActivationMax, ref MemoryMarshal.GetArrayDataReference(got), g.OutStride), Is.False, "no quadruplets");
        Assert.That(RunsLongK(r, Int8Gemm.TryRunSmallKVnni), Is.False, "K = 41");
    }

    /// <summary>Whether <paramref name="kernel"/> runs a GEMM of K = 41, one past both kernels' limit (packed for both).</summary>
    private static bool RunsLongK(Random r, Kernel kernel)
    {
        var w = FastPathCases.S8(r, 8 * 41);
        var wide = PackedFilter.Create(w, 8, 41, new int[8], 0, pad: false, rowTaps: 0, rowTapsS16: false, quadRowTaps: 41);
        var a = FastPathCases.S8(r, 16 * 41);
        var o = new sbyte[16 * 8];
        return kernel(ref MemoryMarshal.GetArrayDataReference(a), 41, 16, wide, FastPathCases.Multipliers(r, 8), new int[8].Select(_ => -8).ToArray(),
            0, -128, 127, ref MemoryMarshal.GetArrayDataReference(o), 8);
    }

    /// <summary>Through the dispatchers (whatever this machine takes): 1x1 convolutions (unit and larger strides) and FullyConnected.</summary>
    [Test]
    public void PointwiseConvolutionsAndFullyConnectedEqualTheReference([Values(12, 16, 20, 36, 40, 41, 64, 90, 150)] int cin)
    {
        var r = new Random(1300 + cin);
        foreach (int cout in new[] { 12, 20, 36, 64, 90, 150, 13 })
        {
            for (int i = 0; i < 3; i++)
            {
                var c = FastPathCases.Conv.Random(r, false, cin, cout, 1, 1);
                c.P.PadTop = c.P.PadLeft = c.P.PadBottom = c.P.PadRight = 0;
                c.P.DilationH = c.P.DilationW = 1;
                if (i == 0) c.P.StrideH = c.P.StrideW = 1;
                c.In = new Shape4(c.In.D0, r.Next(2, 16), r.Next(2, 16), cin);
                c.Input = FastPathCases.S8(r, c.In.FlatSize);
                c.Out = new Shape4(c.In.D0, (c.In.D1 - 1) / c.P.StrideH + 1, (c.In.D2 - 1) / c.P.StrideW + 1, cout);
                c.S = RightShifts(r, cout, cin);
                if (i == 2) c.S[r.Next(cout)] = 1; // one left shift: the AVX2 kernel takes the op
                var got = new sbyte[c.Out.FlatSize];
                Conv2D.EvalS8(c.P, c.Input, c.In, c.Weights, c.Filter, c.Bias, c.M, c.S, got, c.Out);
                int d = FastPathCases.FirstDifference(got, c.Reference());
                Assert.That(d, Is.EqualTo(-1), () => $"conv case {i}: element {d}; {c}");
            }
            var g = Gemm.Random(r, cin, cout);
            var p = g.P;
            var x = FastPathCases.S8(r, g.Rows * cin);
            var expected = new sbyte[g.Rows * cout];
            var fc = new sbyte[g.Rows * cout];
            FullyConnected.EvalS8Reference(p, x, g.Rows, cin, g.W, cout, g.Bias, g.M, g.S, expected);
            FullyConnected.EvalS8(p, x, g.Rows, cin, g.W, cout, g.Bias, g.M, g.S, fc);
            Assert.That(fc, Is.EqualTo(expected), $"FullyConnected {g.Rows} x {cin} -> {cout}");
        }
    }
}
