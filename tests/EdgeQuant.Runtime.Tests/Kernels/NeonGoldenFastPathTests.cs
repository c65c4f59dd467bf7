using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using NUnit.Framework;
using EdgeQuant.Runtime.Kernels.Simd;
using EdgeQuant.Runtime.Math;

namespace EdgeQuant.Runtime.Tests.Kernels;

/// <summary>
/// The SimdOps primitives, as they run here (x64 intrinsics or portable emulation), against golden
/// vectors that real NEON instructions produced under qemu (Golden/neon_primitives.txt, written by
/// tools/arm64-check/check.sh --update from tools/arm64-check/neon_golden.c).
/// </summary>
public class NeonGoldenFastPathTests
{
    private static string GoldenPath([CallerFilePath] string here = "") => Path.Combine(Path.GetDirectoryName(here)!, "Golden", "neon_primitives.txt");

    private static Vector128<int> I4(int[] v, int at) => Vector128.Create(v[at], v[at + 1], v[at + 2], v[at + 3]);

    private static Vector128<sbyte> S16(int[] v, int at)
    {
        var b = new sbyte[16];
        for (int i = 0; i < 16; i++) b[i] = (sbyte)v[at + i];
        return Vector128.Create(b);
    }

    [Test]
    public void EmulatedPrimitivesMatchNeon()
    {
        var counts = new Dictionary<string, int>();
        string section = "";
        foreach (string line in File.ReadLines(GoldenPath()))
        {
            if (line.StartsWith('#') || line.Length == 0) continue;
            if (line.StartsWith('[')) { section = line; continue; }
            var parts = line.Split(' ');
            string name = parts[0];
            var v = parts.Skip(1).Select(int.Parse).ToArray();
            string where = $"{section} {line}";
            switch (name)
            {
                case "sdot":
                case "dot_smull":
                {
                    var (acc, a, b, r) = (I4(v, 0), S16(v, 4), S16(v, 20), I4(v, 36));
                    Assert.That(SimdOps.DotProduct(acc, a, b), Is.EqualTo(r), where);
                    Assert.That(SimdOps.DotProductScalar(acc, a, b), Is.EqualTo(r), where);
                    break;
                }
                case "smull_sadalp":
                {
                    var (acc, a, b, r) = (I4(v, 0), S16(v, 4), S16(v, 20), I4(v, 36));
                    Assert.That(SimdOps.MultiplyAddPairs(acc, a, b), Is.EqualTo(r), where);
                    Assert.That(SimdOps.MultiplyAddPairsScalar(acc, a, b), Is.EqualTo(r), where);
                    break;
                }
                case "addp4":
                    Assert.That(SimdOps.ReduceAdd4(I4(v, 0), I4(v, 4), I4(v, 8), I4(v, 12)), Is.EqualTo(I4(v, 16)), where);
                    break;
                case "sqrdmulh":
                    Assert.That(SimdOps.SaturatingRoundingDoublingHighMul(I4(v, 0), I4(v, 4)), Is.EqualTo(I4(v, 8)), where);
                    Assert.That(SimdOps.SaturatingRoundingDoublingHighMulScalar(I4(v, 0), I4(v, 4)), Is.EqualTo(I4(v, 8)), where);
                    for (int i = 0; i < 4; i++)
                        Assert.That(QuantMath.SaturatingRoundingDoublingHighMul(v[i], v[4 + i]), Is.EqualTo(v[8 + i]), where);
                    break;
                case "rdbpot":
                    Assert.That(SimdOps.RoundingDivideByPOT(I4(v, 0), I4(v, 4)), Is.EqualTo(I4(v, 8)), where);
                    Assert.That(SimdOps.RoundingDivideByPOTScalar(I4(v, 0), I4(v, 4)), Is.EqualTo(I4(v, 8)), where);
                    for (int i = 0; i < 4; i++)
                        Assert.That(QuantMath.RoundingDivideByPOT(v[i], v[4 + i]), Is.EqualTo(v[8 + i]), where);
                    break;
                case "sshl":
                    Assert.That(SimdOps.ShiftLeft(I4(v, 0), I4(v, 4)), Is.EqualTo(I4(v, 8)), where);
                    break;
                case "mbqm":
                    Assert.That(SimdOps.MultiplyByQuantizedMultiplier(I4(v, 0), I4(v, 4), I4(v, 8)), Is.EqualTo(I4(v, 12)), where);
                    for (int i = 0; i < 4; i++)
                        Assert.That(QuantMath.MultiplyByQuantizedMultiplier(v[i], v[4 + i], v[8 + i]), Is.EqualTo(v[12 + i]), where);
                    break;
                default:
                    Assert.Fail($"unknown golden record {name}");
                    break;
            }
            counts[$"{section} {name}"] = counts.GetValueOrDefault($"{section} {name}") + 1;
        }
        // Both CPUs, every primitive; SDOT only on the Cortex-A76 (Raspberry Pi 5 class).
        Assert.That(counts.Keys, Does.Contain("[cortex-a76] sdot"));
        Assert.That(counts.Keys, Does.Not.Contain("[cortex-a72] sdot"));
        foreach (var n in new[] { "dot_smull", "smull_sadalp", "addp4", "sqrdmulh", "rdbpot", "sshl", "mbqm" })
        {
            Assert.That(counts.Keys, Does.Contain($"[cortex-a76] {n}"));
            Assert.That(counts.Keys, Does.Contain($"[cortex-a72] {n}"));
        }
    }
}
