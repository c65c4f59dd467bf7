using EdgeQuant.Converter.Onnx;

namespace EdgeQuant.Converter.Graph.Ops;

/// <summary>
/// Window geometry of Conv, MaxPool and AveragePool over 1 or 2 spatial dimensions, resolved
/// from kernel_shape, strides, dilations, pads and auto_pad with ONNX semantics. A 1-D op
/// ([N, C, W]) is described as 2-D with H = 1, KH = 1 and no padding along H.
/// </summary>
internal sealed class SpatialGeometry
{
    public int InH { get; private init; }

    public int InW { get; private init; }

    public int KH { get; private init; }

    public int KW { get; private init; }

    public int StrideH { get; private init; }

    public int StrideW { get; private init; }

    public int DilationH { get; private init; }

    public int DilationW { get; private init; }

    public int PadTop { get; private init; }

    public int PadLeft { get; private init; }

    public int PadBottom { get; private init; }

    public int PadRight { get; private init; }

    public int OutH { get; private init; }

    public int OutW { get; private init; }

    /// <summary>Number of spatial dimensions of the op (1 or 2).</summary>
    public int SpatialRank { get; private init; }

    /// <summary>Output spatial dims in the op's own rank ([OutW] for 1-D, [OutH, OutW] for 2-D).</summary>
    public int[] OutSpatial => SpatialRank == 1 ? [OutW] : [OutH, OutW];

    /// <summary>
    /// Resolves the geometry. <paramref name="inSpatial"/> and <paramref name="kernel"/> have the
    /// op's spatial rank. <paramref name="ceilMode"/> applies to explicit pads only (pools).
    /// </summary>
    public static SpatialGeometry Compute(OnnxNode node, int[] inSpatial, int[] kernel, bool ceilMode)
    {
        int rank = inSpatial.Length;
        if (rank is not (1 or 2))
        {
            throw node.Error($"has {rank} spatial dimensions; supported: 1 or 2 (inputs [N, C, W] or [N, C, H, W])");
        }

        var strides = ReadPerAxis(node, "strides", rank, 1);
        var dilations = ReadPerAxis(node, "dilations", rank, 1);
        string autoPad = node.GetString("auto_pad", "NOTSET");
        var padsBegin = new int[rank];
        var padsEnd = new int[rank];
        var outs = new int[rank];
        long[]? pads = node.GetIntsOrNull("pads");
        if (pads is not null && autoPad == "NOTSET")
        {
            if (pads.Length != 2 * rank)
            {
                throw node.Error($"pads [{string.Join(", ", pads)}] must have {2 * rank} values (begin and end for each spatial axis)");
            }

            foreach (long p in pads)
            {
                if (p < 0 || p > int.MaxValue / 4)
                {
                    throw node.Error($"pads [{string.Join(", ", pads)}] must be non-negative");
                }
            }
        }

        for (int i = 0; i < rank; i++)
        {
            int input = inSpatial[i];
            int k = kernel[i];
            int s = strides[i];
            int effectiveKernel = ((k - 1) * dilations[i]) + 1;
            switch (autoPad)
            {
                case "VALID":
                    outs[i] = input >= effectiveKernel ? ((input - effectiveKernel) / s) + 1 : 0;
                    break;
                case "SAME_UPPER":
                case "SAME_LOWER":
                    {
                        outs[i] = (input + s - 1) / s;
                        int total = Math.Max(0, ((outs[i] - 1) * s) + effectiveKernel - input);
                        int small = total / 2;
                        padsBegin[i] = autoPad == "SAME_UPPER" ? small : total - small;
                        padsEnd[i] = total - padsBegin[i];
                        break;
                    }

                default:
                    {
                        if (pads is not null)
                        {
                            padsBegin[i] = (int)pads[i];
                            padsEnd[i] = (int)pads[i + rank];
                        }

                        long span = (long)input + padsBegin[i] + padsEnd[i] - effectiveKernel;
                        if (span < 0)
                        {
                            outs[i] = 0;
                            break;
                        }

                        long o = ceilMode ? ((span + s - 1) / s) + 1 : (span / s) + 1;

                        // In ceil mode a window that would start in the end padding is dropped (ONNX, ORT, PyTorch).
                        if (ceilMode && (o - 1) * s >= (long)input + padsBegin[i])
                        {
                            o--;
                        }

                        outs[i] = (int)o;
                        break;
                    }
            }

            if (outs[i] < 1)
            {
                throw node.Error(
                    $"input spatial size {OnnxTensor.FormatShape(inSpatial)} is smaller than the (dilated) kernel {OnnxTensor.FormatShape(kernel)} with these pads; the output would be empty");
            }
        }

        bool oneD = rank == 1;
        return new SpatialGeometry
        {
            SpatialRank = rank,
            InH = oneD ? 1 : inSpatial[0],
            InW = inSpatial[rank - 1],
            KH = oneD ? 1 : kernel[0],
            KW = kernel[rank - 1],
            StrideH = oneD ? 1 : strides[0],
            StrideW = strides[rank - 1],
            DilationH = oneD ? 1 : dilations[0],
            DilationW = dilations[rank - 1],
            PadTop = oneD ? 0 : padsBegin[0],
            PadLeft = padsBegin[rank - 1],
            PadBottom = oneD ? 0 : padsEnd[0],
            PadRight = padsEnd[rank - 1],
            OutH = oneD ? 1 : outs[0],
            OutW = outs[rank - 1],
        };
    }

    /// <summary>Kernel shape from the attribute, checked against <paramref name="fromWeights"/> when both exist.</summary>
    public static int[] KernelShape(OnnxNode node, int rank, int[]? fromWeights)
    {
        long[]? attr = node.GetIntsOrNull("kernel_shape");
        if (attr is null)
        {
            return fromWeights ?? throw node.Error("required attribute 'kernel_shape' is missing");
        }

        if (attr.Length != rank)
        {
            throw node.Error($"kernel_shape [{string.Join(", ", attr)}] has {attr.Length} values but the input has {rank} spatial dimensions");
        }

        var k = new int[rank];
        for (int i = 0; i < rank; i++)
        {
            k[i] = ShapeMath.ToDim(node, attr[i], "kernel_shape");
            if (k[i] < 1)
            {
                throw node.Error($"kernel_shape [{string.Join(", ", attr)}] must be positive");
            }
        }

        if (fromWeights is not null && !k.AsSpan().SequenceEqual(fromWeights))
        {
            throw node.Error($"kernel_shape {OnnxTensor.FormatShape(k)} does not match the weight's spatial shape {OnnxTensor.FormatShape(fromWeights)}");
        }

        return k;
    }

    private static int[] ReadPerAxis(OnnxNode node, string name, int rank, int defaultValue)
    {
        long[]? values = node.GetIntsOrNull(name);
        var result = new int[rank];
        if (values is null)
        {
            Array.Fill(result, defaultValue);
            return result;
        }

        if (values.Length != rank)
        {
            throw node.Error($"{name} [{string.Join(", ", values)}] must have {rank} values (one per spatial axis)");
        }

        for (int i = 0; i < rank; i++)
        {
            if (values[i] < 1 || values[i] > int.MaxValue / 4)
            {
                throw node.Error($"{name} [{string.Join(", ", values)}] must be positive");
            }

            result[i] = (int)values[i];
        }

        return result;
    }
}
