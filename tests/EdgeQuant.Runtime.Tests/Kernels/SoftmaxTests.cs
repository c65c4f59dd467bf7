using EdgeQuant.Runtime.Kernels;
using EdgeQuant.Runtime.Tests.TestSupport;

namespace EdgeQuant.Runtime.Tests.Kernels;

/// <summary>Softmax: int8 in, int8 out with scale 1/256 and zero point -128, through the Q23 exp table.</summary>
public class SoftmaxTests
{
    private static sbyte[] Run(sbyte[] x, int rows, int depth, int[] table)
    {
        var y = new sbyte[x.Length];
        Softmax.EvalS8(x, y, rows, depth, table);
        return y;
    }

    [Test]
    public void TableEntriesAreQ23Exponentials()
    {
        var t = ConverterMath.SoftmaxTable(1.0, 0.5f);
        Assert.Multiple(() =>
        {
            Assert.That(t[0], Is.EqualTo(1 << 23));
            Assert.That(t[2], Is.EqualTo(3085996)); // round(2^23 / e)
            Assert.That(t[255], Is.Zero);
        });
    }

    [Test]
    public void EqualInputsGiveOneHalfEach()
    {
        Assert.That(Run([5, 5], 1, 2, ConverterMath.SoftmaxTable(1.0, 0.1f)), Is.EqualTo(new sbyte[] { 0, 0 }));
        // Four equal inputs: 0.25 -> 64 - 128.
        Assert.That(Run([-7, -7, -7, -7], 1, 4, ConverterMath.SoftmaxTable(1.0, 0.1f)), Is.EqualTo(new sbyte[] { -64, -64, -64, -64 }));
    }

    [Test]
    public void CertaintySaturatesAt127()
    {
        // Probability 1 would be 256 - 128 = 128, one past the int8 range.
        Assert.That(Run([127, -128], 1, 2, ConverterMath.SoftmaxTable(1.0, 1f)), Is.EqualTo(new sbyte[] { 127, -128 }));
    }

    [Test]
    public void ThreeValues()
    {
        // exp(0), exp(-1), exp(-0.3) normalised: 0.4742, 0.1745, 0.3513 -> 121, 45, 90 (minus 128).
        Assert.That(Run([0, -10, -3], 1, 3, ConverterMath.SoftmaxTable(1.0, 0.1f)), Is.EqualTo(new sbyte[] { -7, -83, -38 }));
    }

    [Test]
    public void RowsAreIndependent()
    {
        var t = ConverterMath.SoftmaxTable(1.0, 0.1f);
        Assert.That(Run([0, -10, -3, 5, 5, 5], 2, 3, t), Is.EqualTo(new sbyte[] { -7, -83, -38, -43, -43, -43 }));
    }

    [Test]
    public void RandomRowsMatchFloatSoftmaxWithinOneLsb()
    {
        var r = new Rand(10001);
        for (int i = 0; i < 300; i++)
        {
            int rows = r.Int(1, 4), depth = r.Int(1, 40);
            float scale = r.Scale(0.01, 0.5);
            double beta = r.Int(0, 3) == 0 ? r.Scale(0.5, 2) : 1.0;
            var x = r.S8(rows * depth);
            var expected = new sbyte[x.Length];
            for (int row = 0; row < rows; row++)
            {
                int max = -128;
                for (int k = 0; k < depth; k++) max = System.Math.Max(max, x[row * depth + k]);
                double sum = 0;
                for (int k = 0; k < depth; k++) sum += System.Math.Exp(beta * scale * (x[row * depth + k] - max));
                for (int k = 0; k < depth; k++)
                    expected[row * depth + k] = ConverterMath.Quantize(System.Math.Exp(beta * scale * (x[row * depth + k] - max)) / sum, 1f / 256, -128);
            }
            Lsb.AssertWithin(Run(x, rows, depth, ConverterMath.SoftmaxTable(beta, scale)), expected, 1, $"case {i}: {rows}x{depth}, scale {scale}, beta {beta}");
        }
    }
}
