using EdgeQuant.Converter.Onnx;
using EdgeQuant.Runtime.Format;

namespace EdgeQuant.Converter.Ir;

// SiLU / Swish: Mul(x, Sigmoid(x)) (either operand order), where the Sigmoid feeds only that
// Mul, lowers to one Lookup of x * sigmoid(x): one table, exact to the output's rounding, instead
// of a Logistic and a Mul.
public sealed partial class Lowering
{
    private readonly HashSet<OnnxNode> _fusedAway = [];
    private readonly Dictionary<OnnxNode, string> _swish = [];

    private void FindSwish()
    {
        foreach (var mul in _g.Nodes)
        {
            if (mul.OpType != "Mul" || mul.Inputs.Count != 2) continue;
            for (int side = 0; side < 2; side++)
            {
                string s = mul.Inputs[side], x = mul.Inputs[1 - side];
                var sigmoid = _g.Nodes.FirstOrDefault(o => o.OpType == "Sigmoid" && o.Outputs[0] == s);
                if (sigmoid is null || sigmoid.Inputs[0] != x || _g.IsConstant(x)) continue;
                if (_g.Consumers(s).Count != 1 || _g.Outputs.Any(o => o.Name == s)) continue;
                _fusedAway.Add(sigmoid);
                _swish[mul] = x;
                break;
            }
        }
    }

    private void Swish(OnnxNode mul, string input)
    {
        var x = _values.TryGetValue(input, out var v) ? v : throw mul.Error($"input '{input}' is not computed by any earlier node");
        var y = NewTensor(mul.Outputs[0], x.Tensor.Shape);
        Emit(new IrOp(OpType.Lookup, mul.Name, [x.Tensor], y) { Unary = SiLU, UnaryName = "SiLU" });
        _values[mul.Outputs[0]] = new Value { Tensor = y, Layout = x.Layout, Logical = x.Logical, FlatPermutation = x.FlatPermutation };
    }

    private static float SiLU(float x) => x / (1f + MathF.Exp(-x));
}
