using NUnit.Framework;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using EdgeQuant.Runtime.Kernels.Simd;
using EdgeQuant.Runtime.Math;

namespace EdgeQuant.Runtime.Tests.Kernels;

/// <summary>
/// The vector requantization primitives (128-bit and 256-bit) against <see cref="QuantMath"/>, lane
/// by lane, on random and edge inputs: int.MinValue, int.MaxValue, exact ties of both signs.
/// </summary>
public class RequantizationFastPathTests
{
    private static readonly int[] Edges =
    [
        int.MinValue, int.MinValue + 1, -(1 << 30) - 1, -(1 << 30), -(1 << 30) + 1, -65536, -3, -2, -1, 0, 1, 2, 3,
        65536, (1 << 30) - 1, 1 << 30, (1 << 30) + 1, int.MaxValue - 1, int.MaxValue,
    ];

    private static IEnumerable<(int X, int M, int S)> Inputs(int seed, int count)
    {
        var r = new Random(seed);
        foreach (int x in Edges)
            foreach (int m in Edges)
                yield return (x, m, r.Next(-31, 31));
        for (int i = 0; i < count; i++)
        {
            int shift = r.Next(-31, 31);
            int x = r.Next(4) switch
            {
                0 => r.Next(int.MinValue, int.MaxValue),
                1 => r.Next(-1 << 16, 1 << 16),
                // A multiple of 2^(-shift - 1): after the multiply by 2^30 these land on exact ties.
                2 => (r.Next(-1 << 12, 1 << 12) * 2 + 1) << System.Math.Clamp(-shift - 1, 0, 18),
                _ => Edges[r.Next(Edges.Length)],
            };
            int m = r.Next(3) switch { 0 => r.Next(int.MinValue, int.MaxValue), 1 => 1 << 30, _ => (1 << 30) + r.Next(0, int.MaxValue - (1 << 30)) };
            yield return (x, m, shift);
        }
    }

    [Test]
    public void Vector128MultiplyByQuantizedMultiplierMatchesScalar()
    {
        foreach (var batch in Inputs(71, 200_000).Chunk(4))
        {
            if (batch.Length < 4) break;
            var x = Vector128.Create(batch[0].X, batch[1].X, batch[2].X, batch[3].X);
            var m = Vector128.Create(batch[0].M, batch[1].M, batch[2].M, batch[3].M);
            var s = Vector128.Create(batch[0].S, batch[1].S, batch[2].S, batch[3].S);
            var v = SimdOps.MultiplyByQuantizedMultiplier(x, m, s);
            for (int i = 0; i < 4; i++)
            {
                int e = QuantMath.MultiplyByQuantizedMultiplier(batch[i].X, batch[i].M, batch[i].S);
                if (v[i] != e) Assert.Fail($"MBQM({batch[i].X}, {batch[i].M}, {batch[i].S}) = {v[i]}, scalar {e}");
            }
        }
    }

    [Test]
    public void Vector256MultiplyByQuantizedMultiplierMatchesScalar()
    {
        if (!Avx2.IsSupported) Assert.Ignore("no AVX2");
        foreach (var batch in Inputs(72, 200_000).Chunk(8))
        {
            if (batch.Length < 8) break;
            var x = Vector256.Create(batch.Select(b => b.X).ToArray());
            var m = Vector256.Create(batch.Select(b => b.M).ToArray());
            var s = Vector256.Create(batch.Select(b => b.S).ToArray());
            var v = SimdOps256.MultiplyByQuantizedMultiplier(x, m, s);
            for (int i = 0; i < 8; i++)
            {
                int e = QuantMath.MultiplyByQuantizedMultiplier(batch[i].X, batch[i].M, batch[i].S);
                if (v[i] != e) Assert.Fail($"MBQM({batch[i].X}, {batch[i].M}, {batch[i].S}) = {v[i]}, scalar {e}");
            }
        }
    }

    [Test]
    public void Vector256RequantizerAndRightShiftFormMatchScalar()
    {
        if (!Avx2.IsSupported) Assert.Ignore("no AVX2");
        foreach (var batch in Inputs(73, 200_000).Chunk(8))
        {
            if (batch.Length < 8) break;
            var x = Vector256.Create(batch.Select(b => b.X).ToArray());
            var m = Vector256.Create(batch.Select(b => b.M).ToArray());
            var s = Vector256.Create(batch.Select(b => b.S).ToArray());
            var v = new SimdOps256.Requantizer(m, s).Apply(x);
            // The right-shift form's preconditions: shifts <= 0, no int.MinValue multiplier.
            var sr = Vector256.Min(s, Vector256<int>.Zero);
            var mr = Vector256.Max(m, Vector256.Create(int.MinValue + 1));
            var right = -sr;
            var w = SimdOps256.MultiplyByQuantizedMultiplierRightShift(x, mr, Avx2.ShiftRightLogical(mr.AsInt64(), 32).AsInt32(), right,
                Avx2.ShiftLeftLogicalVariable(Vector256<int>.One, right.AsUInt32()) - Vector256<int>.One);
            for (int i = 0; i < 8; i++)
            {
                int e = QuantMath.MultiplyByQuantizedMultiplier(batch[i].X, batch[i].M, batch[i].S);
                if (v[i] != e) Assert.Fail($"Requantizer({batch[i].X}, {batch[i].M}, {batch[i].S}) = {v[i]}, scalar {e}");
                int er = QuantMath.MultiplyByQuantizedMultiplier(batch[i].X, mr[i], sr[i]);
                if (w[i] != er) Assert.Fail($"right-shift form({batch[i].X}, {mr[i]}, {sr[i]}) = {w[i]}, scalar {er}");
            }
        }
    }

    /// <summary>
    /// The arm64 tiles' block requantization (split shifts, the left shift skipped for blocks without one, the
    /// shorter sequence for blocks that all shift right, saturating narrow, clamp on bytes) and its partial store, against the reference's scalar expression
    /// clamp(MultiplyByQuantizedMultiplier(acc) + outputOffset), every block width 1..8.
    /// </summary>
    [Test]
    public void BlockRequantizationMatchesScalar()
    {
        var r = new Random(74);
        var all = Inputs(75, 160_000).ToArray();
        var o = new sbyte[16];
        for (int at = 0; at + 16 <= all.Length; at += 16)
        {
            int n = 1 + (at / 16) % 8;
            // A third of the blocks keep every shift <= 0 (the path without the left shift), a third every shift <= -1
            // (the all-right-shift path: SSRA fixup, offset added in int16).
            int mode = (at / 16) % 3;
            var m = new int[n];
            var sh = new int[n];
            for (int c = 0; c < n; c++)
            {
                m[c] = all[at + c].M;
                sh[c] = mode switch { 0 => -System.Math.Abs(all[at + c].S), 1 => -1 - System.Math.Abs(all[at + c].S) % 31, _ => all[at + c].S };
            }
            int off = r.Next(-128, 128), min = r.Next(3) == 0 ? r.Next(-128, 0) : -128, max = r.Next(3) == 0 ? r.Next(min, 128) : 127;
            var rq = new BlockRequantization(m, sh, 0, off, min, max);
            var acc = new int[16];
            for (int i = 0; i < 16; i++) acc[i] = all[at + i].X;
            var v = rq.Pixels2(Vector128.Create(acc[0], acc[1], acc[2], acc[3]), Vector128.Create(acc[4], acc[5], acc[6], acc[7]),
                Vector128.Create(acc[8], acc[9], acc[10], acc[11]), Vector128.Create(acc[12], acc[13], acc[14], acc[15]));
            Array.Fill(o, (sbyte)0x55);
            rq.Store(v, 0, ref o[0]);
            rq.Store(v, 1, ref o[8]);
            for (int px = 0; px < 2; px++)
                for (int c = 0; c < 8; c++)
                {
                    sbyte got = o[px * 8 + c];
                    if (c >= n)
                    {
                        if (got != 0x55) Assert.Fail($"block of {n} channels: byte {c} of pixel {px} was written");
                        continue;
                    }
                    int e = System.Math.Clamp(unchecked(QuantMath.MultiplyByQuantizedMultiplier(acc[px * 8 + c], m[c], sh[c]) + off), min, max);
                    if (got != e || v[px * 8 + c] != e)
                        Assert.Fail($"acc {acc[px * 8 + c]} m {m[c]} shift {sh[c]} offset {off} [{min}, {max}]: {got}, scalar {e}");
                }
        }
    }

    [Test]
    public void HighMulAndDivideByPOTMatchScalarIncludingTheirEmulations()
    {
        var r = new Random(73);
        for (int n = 0; n < 100_000; n++)
        {
            int[] a = new int[4], b = new int[4], e = new int[4];
            for (int i = 0; i < 4; i++)
            {
                a[i] = r.Next(3) == 0 ? Edges[r.Next(Edges.Length)] : r.Next(int.MinValue, int.MaxValue);
                b[i] = r.Next(3) == 0 ? Edges[r.Next(Edges.Length)] : r.Next(int.MinValue, int.MaxValue);
                e[i] = r.Next(0, 32);
            }
            var va = Vector128.Create(a);
            var vb = Vector128.Create(b);
            var ve = Vector128.Create(e);
            var h = SimdOps.SaturatingRoundingDoublingHighMul(va, vb);
            var hs = SimdOps.SaturatingRoundingDoublingHighMulScalar(va, vb);
            var d = SimdOps.RoundingDivideByPOT(va, ve);
            var ds = SimdOps.RoundingDivideByPOTScalar(va, ve);
            for (int i = 0; i < 4; i++)
            {
                int eh = QuantMath.SaturatingRoundingDoublingHighMul(a[i], b[i]);
                int ed = QuantMath.RoundingDivideByPOT(a[i], e[i]);
                if (h[i] != eh || hs[i] != eh) Assert.Fail($"SRDHM({a[i]}, {b[i]}) = {h[i]} / {hs[i]}, scalar {eh}");
                if (d[i] != ed || ds[i] != ed) Assert.Fail($"RDBPOT({a[i]}, {e[i]}) = {d[i]} / {ds[i]}, scalar {ed}");
            }
        }
        Assert.That(SimdOps.SaturatingRoundingDoublingHighMul(Vector128.Create(int.MinValue), Vector128.Create(int.MinValue)), Is.EqualTo(Vector128.Create(int.MaxValue)));
    }

    [Test]
    public void DotPrimitivesMatchTheirDefinitions()
    {
        var r = new Random(74);
        var a = new sbyte[32];
        var b = new sbyte[32];
        for (int n = 0; n < 20_000; n++)
        {
            for (int i = 0; i < 32; i++) { a[i] = (sbyte)r.Next(-128, 128); b[i] = (sbyte)r.Next(-128, 128); }
            if (n < 4) { Array.Fill(a, (sbyte)(n % 2 == 0 ? -128 : 127)); Array.Fill(b, (sbyte)(n < 2 ? -128 : 127)); }
            var acc = Vector128.Create(r.Next(), -r.Next(), int.MaxValue, int.MinValue);
            var va = Vector128.Create(a.AsSpan(0, 16));
            var vb = Vector128.Create(b.AsSpan(0, 16));
            Assert.That(SimdOps.DotProduct(acc, va, vb), Is.EqualTo(SimdOps.DotProductScalar(acc, va, vb)));
            Assert.That(SimdOps.MultiplyAddPairs(acc, va, vb), Is.EqualTo(SimdOps.MultiplyAddPairsScalar(acc, va, vb)));
            if (Avx2.IsSupported)
            {
                var acc8 = Vector256.Create(acc, -acc);
                var u = Vector256.Create(a).AsByte();
                var s = Vector256.Create(b);
                var got = SimdOps256.DotBusd(acc8, u, s);
                for (int i = 0; i < 8; i++)
                {
                    int e = acc8[i];
                    for (int j = 0; j < 4; j++) e += (byte)a[4 * i + j] * b[4 * i + j];
                    if (got[i] != e) Assert.Fail($"VPDPBUSD lane {i}: {got[i]}, expected {e}");
                }
            }
        }
    }
}
