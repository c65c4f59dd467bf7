using EdgeQuant.Converter.Graph.Ops;
using EdgeQuant.Converter.Onnx;

namespace EdgeQuant.Converter.Graph;

/// <summary>
/// Folds inference-mode BatchNormalization into the op before it when that op's output feeds
/// only the BatchNormalization and its weights are constants:
/// Conv (per output channel), Gemm (per output column, C broadcast along rows),
/// MatMul with a 2-D constant right operand (a bias Add is created), and MatMul + Add(bias).
/// With s = gamma / sqrt(var + eps): w' = w * s and b' = (b - mean) * s + beta.
/// A BatchNormalization that does not fit stays in the graph (the executor supports it).
/// </summary>
public static class BatchNormFolding
{
    /// <summary>Folds every foldable BatchNormalization; returns how many were folded.</summary>
    public static int Run(OnnxGraph graph)
    {
        Dictionary<string, int[]>? shapes = null;
        int count = 0;
        foreach (var bn in graph.Nodes.ToArray())
        {
            if (bn.OpType != "BatchNormalization")
            {
                continue;
            }

            string x = bn.Inputs[0];
            var producer = graph.Producer(x);
            if (producer is null || graph.IsGraphOutput(x) || graph.Consumers(x).Count != 1 || producer.Outputs.Count != 1)
            {
                continue;
            }

            if (!TryGetFloat(graph, bn.Inputs[1], out var gamma) || !TryGetFloat(graph, bn.Inputs[2], out var beta)
                || !TryGetFloat(graph, bn.Inputs[3], out var mean) || !TryGetFloat(graph, bn.Inputs[4], out var variance))
            {
                continue;
            }

            if (gamma.Length != beta.Length || gamma.Length != mean.Length || gamma.Length != variance.Length)
            {
                continue;
            }

            var (scale, shift) = BatchNormOp.Fold(gamma, beta, mean, variance, bn.GetFloat("epsilon", BatchNormOp.DefaultEpsilon));
            shapes ??= GraphSweep.Run(graph, GraphSweep.InputShapes(graph, 1)).Shapes;
            if (!shapes.TryGetValue(x, out var xShape) || xShape.Length < 2 || xShape[1] != scale.Length)
            {
                continue;
            }

            bool done = producer.OpType switch
            {
                "Conv" => FoldIntoConv(graph, producer, scale, shift),
                "Gemm" => xShape.Length == 2 && FoldIntoGemm(graph, producer, scale, shift),
                "MatMul" => xShape.Length == 2 && FoldIntoMatMul(graph, producer, bn, scale, shift),
                "Add" => xShape.Length == 2 && FoldIntoMatMulAdd(graph, producer, scale, shift),
                _ => false,
            };
            if (!done)
            {
                continue;
            }

            if (producer.OpType != "MatMul")
            {
                producer.Outputs[0] = bn.Outputs[0];
                graph.Nodes.Remove(bn);
            }

            count++;
        }

        return count;
    }

    private static bool FoldIntoConv(OnnxGraph graph, OnnxNode conv, float[] scale, float[] shift)
    {
        if (!TryGetFloatTensor(graph, conv.Inputs[1], out var w) || w.Rank < 3 || w.Shape[0] != scale.Length)
        {
            return false;
        }

        float[]? bias = null;
        if (conv.HasInput(2) && (!TryGetFloat(graph, conv.Inputs[2], out bias) || bias.Length != scale.Length))
        {
            return false;
        }

        int perChannel = w.ElementCount / scale.Length;
        var newW = new float[w.ElementCount];
        for (int m = 0; m < scale.Length; m++)
        {
            for (int i = 0; i < perChannel; i++)
            {
                newW[(m * perChannel) + i] = w.FloatData[(m * perChannel) + i] * scale[m];
            }
        }

        var newB = new float[scale.Length];
        for (int m = 0; m < scale.Length; m++)
        {
            newB[m] = ((bias?[m] ?? 0f) * scale[m]) + shift[m];
        }

        SetInput(conv, 1, AddInitializer(graph, $"{conv.Name}_weight_bnfold", OnnxTensor.FromFloats(w.Shape, newW)));
        SetInput(conv, 2, AddInitializer(graph, $"{conv.Name}_bias_bnfold", OnnxTensor.FromFloats([scale.Length], newB)));
        return true;
    }

    private static bool FoldIntoGemm(OnnxGraph graph, OnnxNode gemm, float[] scale, float[] shift)
    {
        if (!TryGetFloatTensor(graph, gemm.Inputs[1], out var b) || b.Rank != 2)
        {
            return false;
        }

        bool transB = gemm.GetInt("transB", 0) != 0;
        int n = transB ? b.Shape[0] : b.Shape[1];
        int k = transB ? b.Shape[1] : b.Shape[0];
        if (n != scale.Length)
        {
            return false;
        }

        // C must be the same for every row ([], [1], [N] or [1, N]) to fold per column.
        float beta = gemm.GetFloat("beta", 1f);
        var c = new float[n];
        if (gemm.HasInput(2))
        {
            if (!TryGetFloatTensor(graph, gemm.Inputs[2], out var cTensor))
            {
                return false;
            }

            var cs = cTensor.Shape;
            bool perColumn = cs.Length == 0 || (cs.Length == 1 && (cs[0] == n || cs[0] == 1)) || (cs.Length == 2 && cs[0] == 1 && (cs[1] == n || cs[1] == 1));
            if (!perColumn)
            {
                return false;
            }

            for (int j = 0; j < n; j++)
            {
                c[j] = beta * cTensor.FloatData[cTensor.ElementCount == 1 ? 0 : j];
            }
        }

        var newB = new float[b.ElementCount];
        for (int kk = 0; kk < k; kk++)
        {
            for (int j = 0; j < n; j++)
            {
                int index = transB ? (j * k) + kk : (kk * n) + j;
                newB[index] = b.FloatData[index] * scale[j];
            }
        }

        var newC = new float[n];
        for (int j = 0; j < n; j++)
        {
            newC[j] = (c[j] * scale[j]) + shift[j];
        }

        SetInput(gemm, 1, AddInitializer(graph, $"{gemm.Name}_B_bnfold", OnnxTensor.FromFloats(b.Shape, newB)));
        SetInput(gemm, 2, AddInitializer(graph, $"{gemm.Name}_C_bnfold", OnnxTensor.FromFloats([n], newC)));
        gemm.SetAttribute(OnnxAttribute.FromFloat("beta", 1f));
        return true;
    }

    private static bool FoldIntoMatMul(OnnxGraph graph, OnnxNode matMul, OnnxNode bn, float[] scale, float[] shift)
    {
        if (!TryScaleColumns(graph, matMul, scale, out string newW))
        {
            return false;
        }

        matMul.Inputs[1] = newW;
        string bias = AddInitializer(graph, $"{bn.Name}_bias_bnfold", OnnxTensor.FromFloats([shift.Length], shift));
        graph.Nodes[graph.Nodes.IndexOf(bn)] = new OnnxNode(bn.Name, "Add", [bn.Inputs[0], bias], [bn.Outputs[0]]);
        return true;
    }

    private static bool FoldIntoMatMulAdd(OnnxGraph graph, OnnxNode add, float[] scale, float[] shift)
    {
        int biasIndex = graph.IsConstant(add.Inputs[1]) ? 1 : graph.IsConstant(add.Inputs[0]) ? 0 : -1;
        if (biasIndex < 0)
        {
            return false;
        }

        string product = add.Inputs[1 - biasIndex];
        var matMul = graph.Producer(product);
        if (matMul is null || matMul.OpType != "MatMul" || graph.IsGraphOutput(product) || graph.Consumers(product).Count != 1)
        {
            return false;
        }

        if (!TryGetFloatTensor(graph, add.Inputs[biasIndex], out var b))
        {
            return false;
        }

        var bs = b.Shape;
        bool perColumn = (bs.Length == 1 && bs[0] == scale.Length) || (bs.Length == 2 && bs[0] == 1 && bs[1] == scale.Length);
        if (!perColumn || !TryScaleColumns(graph, matMul, scale, out string newW))
        {
            return false;
        }

        var newBias = new float[scale.Length];
        for (int j = 0; j < scale.Length; j++)
        {
            newBias[j] = (b.FloatData[j] * scale[j]) + shift[j];
        }

        matMul.Inputs[1] = newW;
        add.Inputs[biasIndex] = AddInitializer(graph, $"{add.Name}_bias_bnfold", OnnxTensor.FromFloats(bs, newBias));
        return true;
    }

    /// <summary>Scales column j of a MatMul's constant 2-D right operand by scale[j] into a new initializer.</summary>
    private static bool TryScaleColumns(OnnxGraph graph, OnnxNode matMul, float[] scale, out string name)
    {
        name = "";
        if (!TryGetFloatTensor(graph, matMul.Inputs[1], out var w) || w.Rank != 2 || w.Shape[1] != scale.Length)
        {
            return false;
        }

        int n = w.Shape[1];
        var newW = new float[w.ElementCount];
        for (int i = 0; i < newW.Length; i++)
        {
            newW[i] = w.FloatData[i] * scale[i % n];
        }

        name = AddInitializer(graph, $"{matMul.Name}_B_bnfold", OnnxTensor.FromFloats(w.Shape, newW));
        return true;
    }

    private static bool TryGetFloat(OnnxGraph graph, string name, out float[] data)
    {
        bool ok = TryGetFloatTensor(graph, name, out var t);
        data = ok ? t.FloatData : [];
        return ok;
    }

    private static bool TryGetFloatTensor(OnnxGraph graph, string name, out OnnxTensor tensor)
    {
        if (graph.Initializers.TryGetValue(name, out var t) && t.IsFloat)
        {
            tensor = t;
            return true;
        }

        tensor = null!;
        return false;
    }

    private static string AddInitializer(OnnxGraph graph, string baseName, OnnxTensor value)
    {
        string name = graph.MakeUniqueName(baseName);
        graph.Initializers[name] = value;
        return name;
    }

    private static void SetInput(OnnxNode node, int index, string name)
    {
        while (node.Inputs.Count <= index)
        {
            node.Inputs.Add("");
        }

        node.Inputs[index] = name;
    }
}
