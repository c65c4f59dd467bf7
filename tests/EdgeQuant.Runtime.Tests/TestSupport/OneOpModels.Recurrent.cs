using EdgeQuant.Runtime.Format;
using K = EdgeQuant.Runtime.Kernels;

namespace EdgeQuant.Runtime.Tests.TestSupport;

// One-op models of the ops 22-29 (ArgMax and the recurrent ops).
internal static partial class OneOpModels
{
    /// <summary>ArgMax over dimension 1 of [2, 5, 3, 1] -> [2, 1, 3, 1], output scale 1 and zero point -128.</summary>
    public static OneOpCase ArgMax(Func<ArgMaxParams, ArgMaxParams>? tweak = null, int[]? outDims = null, float outScale = 1f)
    {
        var w = new ModelWriter();
        int x = w.AddActivation(TensorType.Int8, [2, 5, 3, 1], w.AddQuantization([0.1f], 4));
        int y = w.AddActivation(TensorType.Int8, outDims ?? [2, 1, 3, 1], w.AddQuantization([outScale], -128));
        var p = new ArgMaxParams { Axis = 1, SelectLastIndex = 0, OutputOffset = -128 };
        if (tweak is not null) p = tweak(p);
        w.AddOp(OpType.ArgMax, [x], [y], p);
        w.AddInput("x", x);
        w.AddOutput("y", y);
        return new OneOpCase(OpType.ArgMax, w.Build(), inputs =>
        {
            var output = new sbyte[6];
            K.ArgMax.EvalS8Reference(p, S8(inputs[0]), new(2, 5, 3, 1), output);
            return Bytes(output);
        });
    }
}
