using EdgeQuant.Runtime.Format;

namespace EdgeQuant.Converter.Ir;

/// <summary>
/// A value of the lowered graph. Rank-4 activations are NHWC; batch is 1 (the runtime runs
/// one sample per Invoke). Constants hold their float data.
/// </summary>
public sealed class IrTensor
{
    public IrTensor(string name, int[] shape, float[]? data = null)
    {
        Name = name;
        Shape = shape;
        Data = data;
    }

    public string Name { get; }
    public int[] Shape { get; set; }
    /// <summary>Float data of a constant, else null.</summary>
    public float[]? Data { get; set; }
    public bool IsConstant => Data is not null;
    public int ElementCount
    {
        get
        {
            int n = 1;
            foreach (int d in Shape) n *= d;
            return n;
        }
    }

    /// <summary>Rank-4 shape with trailing 1s, as the runtime's Shape4 stores lower ranks.</summary>
    public int[] Shape4()
    {
        var s = new[] { 1, 1, 1, 1 };
        for (int i = 0; i < Shape.Length; i++) s[i] = Shape[i];
        return s;
    }

    public override string ToString() => $"{Name}[{string.Join(",", Shape)}]";
}

/// <summary>
/// An op of the lowered graph, one per runtime op, with float parameters. Conv, depthwise
/// and fully-connected ops hold their weights and bias here (not as inputs).
/// </summary>
public sealed class IrOp
{
    public IrOp(OpType type, string name, IEnumerable<IrTensor> inputs, IrTensor output)
    {
        Type = type;
        Name = name;
        Inputs = inputs.ToList();
        Output = output;
    }

    public OpType Type { get; }
    /// <summary>The ONNX node this op came from (for messages and reports).</summary>
    public string Name { get; }
    public List<IrTensor> Inputs { get; }
    public IrTensor Output { get; set; }

    /// <summary>Conv2D [Cout, Kh, Kw, Cin]; depthwise [1, Kh, Kw, Cout]; FullyConnected [Cout, Cin].</summary>
    public float[]? Weights { get; set; }
    public int[] WeightShape { get; set; } = [];
    public float[]? Bias { get; set; }

    public int StrideH { get; set; } = 1;
    public int StrideW { get; set; } = 1;
    public int DilationH { get; set; } = 1;
    public int DilationW { get; set; } = 1;
    public int PadTop { get; set; }
    public int PadLeft { get; set; }
    public int PadBottom { get; set; }
    public int PadRight { get; set; }
    public int KernelH { get; set; }
    public int KernelW { get; set; }
    public int DepthMultiplier { get; set; } = 1;

    /// <summary>Concatenation axis (physical).</summary>
    public int Axis { get; set; }
    public int[] Perm { get; set; } = [];
    public int[] PadBefore { get; set; } = [];
    public int[] PadAfter { get; set; } = [];
    public float PadValue { get; set; }
    public float Beta { get; set; } = 1f;

    /// <summary>Fused output clamp in float (ReLU: [0, inf), ReLU6: [0, 6]).</summary>
    public float ActivationMin { get; set; } = float.NegativeInfinity;
    public float ActivationMax { get; set; } = float.PositiveInfinity;
    /// <summary>The ONNX activations fused into this op, for reports.</summary>
    public string FusedActivation { get; set; } = "";

    /// <summary>IndexSelect: one table per physical dimension of the output (entries index the input's dimension, -1 takes <see cref="IndexFill"/>).</summary>
    public int[][]? IndexTables { get; set; }
    /// <summary>IndexSelect: the real value of positions whose index is -1 (negative infinity: the lowest int8 code, for max-pool windows).</summary>
    public float IndexFill { get; set; }
    /// <summary>BatchMatMul: a positive factor applied to the product (Gemm's alpha), folded into the requantization.</summary>
    public float Alpha { get; set; } = 1f;
    /// <summary>Lstm / Gru: the layer's float parameters.</summary>
    public RecurrentSpec? Recurrent { get; set; }
    /// <summary>ArgMax: of equal largest values the last index wins (else the first).</summary>
    public bool SelectLastIndex { get; set; }
    /// <summary>Mean: sum instead of average (ReduceSum); the multiplier then has no 1 / (H x W).</summary>
    public bool Sum { get; set; }

    /// <summary>Lookup: the element-wise function the table holds, and its name.</summary>
    public Func<float, float>? Unary { get; set; }
    public string UnaryName { get; set; } = "";

    public float Activate(float v) => v < ActivationMin ? ActivationMin : v > ActivationMax ? ActivationMax : v;

    /// <summary>Multiply-accumulates of one invocation.</summary>
    public long Macs => Type switch
    {
        OpType.Conv2D => (long)Output.ElementCount * WeightShape[1] * WeightShape[2] * WeightShape[3],
        OpType.DepthwiseConv2D => (long)Output.ElementCount * WeightShape[1] * WeightShape[2],
        OpType.FullyConnected => (long)Output.ElementCount * WeightShape[1],
        OpType.BatchMatMul => (long)Output.ElementCount * Inputs[0].Shape4()[3],
        // Every gate row over the input and over the state, per step, batch element and direction.
        OpType.Lstm or OpType.Gru => (long)Output.ElementCount * (Type == OpType.Lstm ? 4 : 3) * (Inputs[0].Shape[2] + Recurrent!.Hidden),
        _ => 0,
    };

    public override string ToString() => $"{Type} '{Name}' ({string.Join(", ", Inputs)}) -> {Output}";
}

/// <summary>
/// The float parameters of an Lstm or Gru op, in ONNX's layouts: W [D, G×H, I], R [D, G×H, H] and
/// B [D, 2×G×H] (input biases, then recurrent biases); <see cref="Direction"/> 0 forward, 1 reverse,
/// 2 bidirectional.
/// </summary>
public sealed record RecurrentSpec(float[] W, float[] R, float[] B, int Hidden, int Direction, bool LinearBeforeReset);

/// <summary>The lowered graph: runtime ops in execution order over NHWC tensors, batch 1.</summary>
public sealed class IrGraph
{
    public List<IrOp> Ops { get; } = [];
    public List<IrTensor> Inputs { get; } = [];
    public List<IrTensor> Outputs { get; } = [];
    /// <summary>Per input/output: the source model's layout (NCHW inputs are transposed by callers).</summary>
    public Dictionary<IrTensor, SourceLayout> Layouts { get; } = [];
    /// <summary>ONNX names of the inputs and outputs.</summary>
    /// <summary>Elements of all inputs together: a sample of a model with several inputs is their physical values back to back, in input order.</summary>
    public int InputElementCount
    {
        get
        {
            int n = 0;
            foreach (var t in Inputs) n += t.ElementCount;
            return n;
        }
    }

    public Dictionary<IrTensor, string> IoNames { get; } = [];
    /// <summary>Source shapes (ONNX logical order, batch 1) of the inputs and outputs.</summary>
    public Dictionary<IrTensor, int[]> SourceShapes { get; } = [];
    /// <summary>Set once <see cref="Calibration.RangeEqualization"/> has rescaled the graph's weights (it applies once).</summary>
    public bool Equalized { get; set; }

    public IEnumerable<IrTensor> ActivationTensors()
    {
        var seen = new HashSet<IrTensor>();
        foreach (var t in Inputs) if (seen.Add(t)) yield return t;
        foreach (var op in Ops)
        {
            foreach (var t in op.Inputs) if (!t.IsConstant && seen.Add(t)) yield return t;
            if (seen.Add(op.Output)) yield return op.Output;
        }
    }

    public long TotalMacs => Ops.Sum(o => o.Macs);
}
