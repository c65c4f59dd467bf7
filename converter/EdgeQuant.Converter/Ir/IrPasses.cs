using EdgeQuant.Runtime.Format;

namespace EdgeQuant.Converter.Ir;

/// <summary>Rewrites on the lowered graph: padding folded into convolutions, bias adds folded into
/// fully-connected layers, clamps (ReLU, ReLU6, Clip) fused into their producer, dead ops removed.</summary>
public static class IrPasses
{
    public static void Optimize(IrGraph g)
    {
        RemoveDead(g);
        FoldPadIntoConv(g);
        FoldBiasAdd(g);
        FuseActivations(g);
        CollapseReshapeChains(g);
        RemoveDead(g);
    }

    /// <summary>
    /// A Reshape of a Reshape reads the first one's input directly, and a Reshape to the shape it
    /// already has disappears (both are free aliases; this keeps the graph readable: a 1-D
    /// convolution's output viewed as [N, T, C] and back as [N, 1, T, C] for the next op is no op at all).
    /// </summary>
    private static void CollapseReshapeChains(IrGraph g)
    {
        foreach (var op in g.Ops.Where(o => o.Type == OpType.Reshape).ToList())
        {
            var prev = g.Ops.FirstOrDefault(o => o.Output == op.Inputs[0]);
            if (prev is null || prev.Type != OpType.Reshape || !Replaceable(g, prev.Output) || Consumers(g, prev.Output).Count != 1) continue;
            op.Inputs[0] = prev.Inputs[0];
            g.Ops.Remove(prev);
        }

        foreach (var op in g.Ops.Where(o => o.Type == OpType.Reshape).ToList())
        {
            var x = op.Inputs[0];
            if (!x.Shape.AsSpan().SequenceEqual(op.Output.Shape) || !Replaceable(g, op.Output)) continue;
            foreach (var user in Consumers(g, op.Output))
            {
                for (int i = 0; i < user.Inputs.Count; i++)
                {
                    if (user.Inputs[i] == op.Output) user.Inputs[i] = x;
                }
            }
            g.Ops.Remove(op);
        }
    }

    private static List<IrOp> Consumers(IrGraph g, IrTensor t) => g.Ops.Where(o => o.Inputs.Contains(t)).ToList();

    private static bool Replaceable(IrGraph g, IrTensor t) => !g.Outputs.Contains(t) && !g.Inputs.Contains(t);

    private static void FoldPadIntoConv(IrGraph g)
    {
        foreach (var pad in g.Ops.Where(o => o.Type == OpType.Pad).ToList())
        {
            if (pad.PadValue != 0 || pad.PadBefore[0] != 0 || pad.PadAfter[0] != 0 || pad.PadBefore[3] != 0 || pad.PadAfter[3] != 0) continue;
            if (!Replaceable(g, pad.Output)) continue;
            var users = Consumers(g, pad.Output);
            if (users.Count != 1 || users[0].Type is not (OpType.Conv2D or OpType.DepthwiseConv2D)) continue;
            var conv = users[0];
            conv.PadTop += pad.PadBefore[1]; conv.PadBottom += pad.PadAfter[1];
            conv.PadLeft += pad.PadBefore[2]; conv.PadRight += pad.PadAfter[2];
            conv.Inputs[0] = pad.Inputs[0];
            g.Ops.Remove(pad);
        }
    }

    private static void FoldBiasAdd(IrGraph g)
    {
        foreach (var fc in g.Ops.Where(o => o.Type is OpType.FullyConnected or OpType.Conv2D or OpType.DepthwiseConv2D).ToList())
        {
            if (!Replaceable(g, fc.Output)) continue;
            var users = Consumers(g, fc.Output);
            if (users.Count != 1 || users[0].Type != OpType.Add) continue;
            var add = users[0];
            var c = add.Inputs.FirstOrDefault(t => t.IsConstant);
            if (c is null) continue;
            int cout = fc.Bias!.Length;
            bool perChannel = c.ElementCount == cout && c.Shape[^1] == cout;
            if (!perChannel && c.ElementCount != 1) continue;
            if (!add.Output.Shape.AsSpan().SequenceEqual(fc.Output.Shape)) continue;
            for (int i = 0; i < cout; i++) fc.Bias[i] += perChannel ? c.Data![i] : c.Data![0];
            fc.Output = add.Output;
            g.Ops.Remove(add);
        }
    }

    private static void FuseActivations(IrGraph g)
    {
        foreach (var act in g.Ops.Where(o => o.Type == OpType.Lookup && (!float.IsNegativeInfinity(o.ActivationMin) || !float.IsPositiveInfinity(o.ActivationMax))).ToList())
        {
            var x = act.Inputs[0];
            var producer = g.Ops.FirstOrDefault(o => o.Output == x);
            if (!Replaceable(g, x) || Consumers(g, x).Count != 1) continue;

            // A clamp after a free Reshape (a 1-D convolution's [N, 1, T, C] output viewed as
            // [N, T, C]) fuses into the op before the Reshape, which then produces the clamp's output.
            IrOp? reshape = null;
            if (producer is { Type: OpType.Reshape })
            {
                var inner = producer.Inputs[0];
                var innerProducer = g.Ops.FirstOrDefault(o => o.Output == inner);
                if (innerProducer is null || !Replaceable(g, inner) || Consumers(g, inner).Count != 1) continue;
                reshape = producer;
                producer = innerProducer;
            }

            if (producer is null || producer.Type is not (OpType.Conv2D or OpType.DepthwiseConv2D or OpType.FullyConnected or OpType.Add or OpType.Sub or OpType.Mul or OpType.BatchMatMul))
                continue;
            producer.ActivationMin = Math.Max(producer.ActivationMin, act.ActivationMin);
            producer.ActivationMax = Math.Min(producer.ActivationMax, act.ActivationMax);
            producer.FusedActivation = producer.FusedActivation.Length == 0 ? act.UnaryName : producer.FusedActivation + "+" + act.UnaryName;
            if (reshape is null) producer.Output = act.Output;
            else reshape.Output = act.Output;
            g.Ops.Remove(act);
        }
    }

    /// <summary>Removes ops whose output nobody reads (working backwards from the graph outputs).</summary>
    private static void RemoveDead(IrGraph g)
    {
        var live = new HashSet<IrTensor>(g.Outputs);
        for (int i = g.Ops.Count - 1; i >= 0; i--)
        {
            var op = g.Ops[i];
            if (!live.Contains(op.Output)) { g.Ops.RemoveAt(i); continue; }
            foreach (var t in op.Inputs) live.Add(t);
        }
    }
}
