using EdgeQuant.Converter.Onnx;

namespace EdgeQuant.Converter.Graph.Ops;

/// <summary>
/// Element-wise functions without parameters beyond attributes, defined once: the float executor
/// evaluates them and the lowering turns each into a 256-entry int8 lookup table (ONNX semantics
/// and default attributes from the operator specification).
/// </summary>
internal static class UnaryFunctions
{
    /// <summary>The op types handled here.</summary>
    public static readonly string[] OpTypes = ["Abs", "Elu", "Erf", "HardSigmoid", "HardSwish", "Neg", "Selu", "Softplus", "Softsign"];

    public static bool Handles(string opType) => Array.IndexOf(OpTypes, opType) >= 0;

    /// <summary>The function a node computes, with its attributes bound.</summary>
    public static Func<float, float> Get(OnnxNode n)
    {
        switch (n.OpType)
        {
            case "Abs": return MathF.Abs;
            case "Neg": return x => -x;
            case "Elu":
            {
                float alpha = n.GetFloat("alpha", 1f);
                return x => x >= 0 ? x : (float)(alpha * (Math.Exp(x) - 1));
            }
            case "Selu":
            {
                float alpha = n.GetFloat("alpha", 1.67326319217681884765625f);
                float gamma = n.GetFloat("gamma", 1.05070102214813232421875f);
                return x => (float)(gamma * (x > 0 ? x : alpha * (Math.Exp(x) - 1)));
            }
            case "HardSigmoid":
            {
                float alpha = n.GetFloat("alpha", 0.2f), beta = n.GetFloat("beta", 0.5f);
                return x => Math.Max(0f, Math.Min(1f, alpha * x + beta));
            }
            case "HardSwish": return x => x * Math.Max(0f, Math.Min(1f, x / 6f + 0.5f));
            case "Softplus": return x => (float)(x > 20 ? x : Math.Log(Math.Exp(x) + 1));
            case "Softsign": return x => x / (1 + MathF.Abs(x));
            case "Erf": return x => (float)Erf(x);
            default: throw n.Error("is not an element-wise function");
        }
    }

    /// <summary>erf to about 1e-15 (Taylor series near 0, continued fraction of erfc beyond).</summary>
    public static double Erf(double x)
    {
        double ax = Math.Abs(x);
        if (ax < 2.5)
        {
            // erf(x) = 2/sqrt(pi) * sum_n (-1)^n x^(2n+1) / (n! (2n+1))
            double sum = 0, term = ax;
            for (int k = 0; k < 80; k++)
            {
                double t = term / (2 * k + 1);
                sum += t;
                if (Math.Abs(t) < 1e-17 * Math.Abs(sum)) break;
                term *= -ax * ax / (k + 1);
            }
            return Math.CopySign(2 / Math.Sqrt(Math.PI) * sum, x);
        }
        if (ax > 6) return Math.CopySign(1.0, x);
        // erfc(x) = exp(-x^2)/sqrt(pi) * 1/(x + 1/2/(x + 1/(x + 3/2/(x + 2/(x + ...)))))
        double f = ax;
        for (int k = 60; k >= 1; k--) f = ax + k / 2.0 / f;
        double erfc = Math.Exp(-ax * ax) / Math.Sqrt(Math.PI) / f;
        return Math.CopySign(1 - erfc, x);
    }
}
