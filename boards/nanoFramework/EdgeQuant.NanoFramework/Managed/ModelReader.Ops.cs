namespace EdgeQuant.NanoFramework.Managed
{
    // Per-op validation (runtime/EdgeQuant.Runtime/Format/OpValidator.cs): arity, element types, shapes
    // consistent with the parameters, every constant-data reference in bounds. After this the kernels trust their inputs.
    internal sealed partial class ModelReader
    {
        private void ValidateOp(OpRecord op, string where)
        {
            switch (op.Type)
            {
                case Format.Conv2D:
                case Format.DepthwiseConv2D:
                    ValidateConv(op, where);
                    break;
                case Format.FullyConnected:
                    ValidateFullyConnected(op, where);
                    break;
                case Format.Add:
                case Format.Sub:
                case Format.Mul:
                    ValidateElementwise(op, where);
                    break;
                case Format.MaxPool2D:
                case Format.AveragePool2D:
                    ValidatePool(op, where);
                    break;
                case Format.Mean:
                {
                    Arity(op, 1, 1, where);
                    TensorRecord i = Act(op.Inputs[0], 4, where, "input", false);
                    TensorRecord o = Act(op.Outputs[0], 4, where, "output", false);
                    Params(op, Format.MeanParams, where);
                    if (o.Dims[0] != i.Dims[0] || o.Dims[1] != 1 || o.Dims[2] != 1 || o.Dims[3] != i.Dims[3])
                        throw Bad(where, "output shape " + o.ShapeText() + " must be [N, 1, 1, C] of input " + i.ShapeText());
                    if ((long)i.Dims[1] * i.Dims[2] * 383 > int.MaxValue) throw Bad(where, "a mean over " + ((long)i.Dims[1] * i.Dims[2]) + " positions could overflow the 32-bit accumulator");
                    Offset(P(op, 0), where); Offset(P(op, 1), where); Shift(P(op, 3), where); Multiplier(P(op, 2), where);
                    break;
                }
                case Format.Concatenation:
                    ValidateConcat(op, where);
                    break;
                case Format.Pad:
                {
                    Arity(op, 1, 1, where);
                    TensorRecord i = Act(op.Inputs[0], 4, where, "input", false);
                    TensorRecord o = Act(op.Outputs[0], 4, where, "output", false);
                    Params(op, Format.PadParams, where);
                    for (int d = 0; d < 4; d++)
                    {
                        int before = P(op, d), after = P(op, 4 + d);
                        if (before < 0 || after < 0) throw Bad(where, "negative padding on dimension " + d);
                        if ((long)i.Dims[d] + before + after != o.Dims[d]) throw Bad(where, "output dimension " + d + " is " + o.Dims[d] + ", expected " + i.Dims[d] + " + " + before + " + " + after);
                    }
                    int pv = P(op, 8);
                    if (pv < -128 || pv > 127) throw Bad(where, "pad value " + pv + " is outside the int8 range");
                    SameQuantization(op.Inputs[0], op.Outputs[0], where, "Pad copies bytes");
                    break;
                }
                case Format.Reshape:
                {
                    Arity(op, 1, 1, where);
                    TensorRecord i = Tensors[op.Inputs[0]];
                    TensorRecord o = Tensors[op.Outputs[0]];
                    if (i.Type != o.Type || i.ByteLength != o.ByteLength) throw Bad(where, "input and output differ in type or size (" + i.ByteLength + " vs " + o.ByteLength + " bytes)");
                    if (o.Storage != Format.Arena) throw Bad(where, "output is not in the arena");
                    if (i.Type == Format.Int8) SameQuantization(op.Inputs[0], op.Outputs[0], where, "Reshape copies bytes");
                    break;
                }
                case Format.Transpose:
                {
                    Arity(op, 1, 1, where);
                    TensorRecord i = Act(op.Inputs[0], 4, where, "input", false);
                    TensorRecord o = Act(op.Outputs[0], 4, where, "output", false);
                    Params(op, Format.TransposeParams, where);
                    int seen = 0;
                    for (int d = 0; d < 4; d++)
                    {
                        int pd = P(op, d);
                        if (pd < 0 || pd > 3 || (seen & (1 << pd)) != 0)
                            throw Bad(where, "permutation [" + P(op, 0) + ", " + P(op, 1) + ", " + P(op, 2) + ", " + P(op, 3) + "] is not a permutation of 0..3");
                        seen |= 1 << pd;
                        if (o.Dims[d] != i.Dims[pd]) throw Bad(where, "output shape " + o.ShapeText() + " is not the input " + i.ShapeText() + " permuted");
                    }
                    SameQuantization(op.Inputs[0], op.Outputs[0], where, "Transpose copies bytes");
                    break;
                }
                case Format.Softmax:
                {
                    Arity(op, 1, 1, where);
                    TensorRecord i = ActAny(op.Inputs[0], where, "input");
                    TensorRecord o = ActAny(op.Outputs[0], where, "output");
                    if (!i.SameShape(o)) throw Bad(where, "input and output shapes differ");
                    Params(op, Format.SoftmaxParams, where);
                    int table = P(op, 0);
                    Const(table, 256 * 4, 4, where, "exp table");
                    Offset(P(op, 1), where);
                    for (int k = 0; k < 256; k++)
                    {
                        int e = Le.I32(Blob, ConstOffset + table + 4 * k);
                        if (e < 0 || e > (1 << 23)) throw Bad(where, "exp table entry " + k + " is " + e + ", outside [0, 2^23]");
                    }
                    if (Le.I32(Blob, ConstOffset + table) < 1) throw Bad(where, "exp table entry 0 must be positive");
                    FixedQuantization(op.Outputs[0], 1f / 256, -128, where);
                    break;
                }
                case Format.Logistic:
                case Format.Tanh:
                case Format.Lookup:
                {
                    Arity(op, 1, 1, where);
                    TensorRecord i = ActAny(op.Inputs[0], where, "input");
                    TensorRecord o = ActAny(op.Outputs[0], where, "output");
                    if (!i.SameShape(o)) throw Bad(where, "input and output shapes differ");
                    Params(op, Format.LookupParams, where);
                    Const(P(op, 0), 256, 1, where, "lookup table");
                    if (op.Type == Format.Logistic) FixedQuantization(op.Outputs[0], 1f / 256, -128, where);
                    if (op.Type == Format.Tanh) FixedQuantization(op.Outputs[0], 1f / 128, 0, where);
                    break;
                }
                case Format.Quantize:
                case Format.Dequantize:
                {
                    Arity(op, 1, 1, where);
                    TensorRecord i = Tensors[op.Inputs[0]];
                    TensorRecord o = Tensors[op.Outputs[0]];
                    bool q = op.Type == Format.Quantize;
                    int fin = q ? Format.Float32 : Format.Int8, fout = q ? Format.Int8 : Format.Float32;
                    if (i.Type != fin || o.Type != fout) throw Bad(where, "expects type " + fin + " input and type " + fout + " output, got " + i.Type + " and " + o.Type);
                    if (i.Storage != Format.Arena || o.Storage != Format.Arena) throw Bad(where, "input and output must be in the arena");
                    if (!i.SameShape(o)) throw Bad(where, "input and output shapes differ");
                    Params(op, Format.QuantizeParams, where);
                    float scale = Le.F32(Blob, op.ParamsOffset);
                    int zp = P(op, 1);
                    if (!(scale > 0) || !Le.IsFinite(scale)) throw Bad(where, "scale " + scale + " must be positive and finite");
                    Offset(zp, where);
                    FixedQuantization(q ? op.Outputs[0] : op.Inputs[0], scale, zp, where);
                    break;
                }
                default:
                    throw Bad(where, "unknown op type " + op.Type);
            }
        }

        private void ValidateConv(OpRecord op, string where)
        {
            Arity(op, 3, 1, where);
            TensorRecord input = Act(op.Inputs[0], 4, where, "input", false);
            TensorRecord filter = Tensors[op.Inputs[1]];
            TensorRecord bias = Tensors[op.Inputs[2]];
            TensorRecord output = Act(op.Outputs[0], 4, where, "output", false);
            if (filter.Type != Format.Int8 || filter.Storage != Format.Constant || filter.Rank != 4) throw Bad(where, "filter must be a constant rank-4 int8 tensor");
            Params(op, Format.Conv2DParams, where);
            bool dw = op.Type == Format.DepthwiseConv2D;
            int cout = dw ? filter.Dims[3] : filter.Dims[0];
            int cin = input.Dims[3];
            if (dw)
            {
                int mult = P(op, 14);
                if (filter.Dims[0] != 1) throw Bad(where, "depthwise filter " + filter.ShapeText() + " must be [1, Kh, Kw, Cout]");
                if (mult < 1 || (long)cin * mult != cout) throw Bad(where, "depthwise output channels " + cout + " != input channels " + cin + " x multiplier " + mult);
            }
            else if (filter.Dims[3] != cin) throw Bad(where, "filter " + filter.ShapeText() + " input channels do not match input " + input.ShapeText());
            Bias(bias, cout, where);
            int sh = P(op, 0), sw = P(op, 1), dh = P(op, 2), dwl = P(op, 3);
            if (sh < 1 || sw < 1 || dh < 1 || dwl < 1 || sh > 64 || sw > 64 || dh > 64 || dwl > 64)
                throw Bad(where, "strides (" + sh + ", " + sw + ") and dilations (" + dh + ", " + dwl + ") must be in [1, 64]");
            Pads(P(op, 4), P(op, 5), P(op, 6), P(op, 7), where);
            long oh = OutSize(input.Dims[1], filter.Dims[1], sh, dh, P(op, 4), P(op, 6));
            long ow = OutSize(input.Dims[2], filter.Dims[2], sw, dwl, P(op, 5), P(op, 7));
            if (output.Dims[0] != input.Dims[0] || output.Dims[1] != oh || output.Dims[2] != ow || output.Dims[3] != cout)
                throw Bad(where, "output shape " + output.ShapeText() + " does not match input " + input.ShapeText() + ", filter " + filter.ShapeText() + " and parameters (expected [" + input.Dims[0] + ", " + oh + ", " + ow + ", " + cout + "])");
            Offset(P(op, 8), where); Offset(P(op, 9), where); Activation(P(op, 10), P(op, 11), where);
            PerChannel(P(op, 12), P(op, 13), cout, where);
            if (P(op, 15) != -1) FoldedBias(op, P(op, 15), P(op, 8), cout, dw, where);
        }

        private void ValidateFullyConnected(OpRecord op, string where)
        {
            Arity(op, 3, 1, where);
            TensorRecord input = ActAny(op.Inputs[0], where, "input");
            TensorRecord filter = Tensors[op.Inputs[1]];
            TensorRecord output = ActAny(op.Outputs[0], where, "output");
            if (filter.Type != Format.Int8 || filter.Storage != Format.Constant || filter.Rank != 2) throw Bad(where, "filter must be a constant [Cout, Cin] int8 tensor");
            int cout = filter.Dims[0], cin = filter.Dims[1];
            if (input.ElementCount % cin != 0) throw Bad(where, "input of " + input.ElementCount + " elements is not a whole number of rows of " + cin);
            int batch = input.ElementCount / cin;
            if (output.ElementCount != (long)batch * cout || output.Dims[output.Rank - 1] != cout) throw Bad(where, "output " + output.ShapeText() + " is not [" + batch + ", " + cout + "]");
            Bias(Tensors[op.Inputs[2]], cout, where);
            Params(op, Format.FullyConnectedParams, where);
            Offset(P(op, 0), where); Offset(P(op, 1), where); Activation(P(op, 2), P(op, 3), where);
            PerChannel(P(op, 4), P(op, 5), cout, where);
            if (P(op, 6) != -1) FoldedBias(op, P(op, 6), P(op, 0), cout, false, where);
        }

        private void ValidateElementwise(OpRecord op, string where)
        {
            Arity(op, 2, 1, where);
            int rank = Tensors[op.Outputs[0]].Rank;
            TensorRecord a = Act(op.Inputs[0], rank, where, "input 1", true);
            TensorRecord b = Act(op.Inputs[1], rank, where, "input 2", true);
            TensorRecord o = Act(op.Outputs[0], rank, where, "output", false);
            for (int d = 0; d < 4; d++)
            {
                if ((a.Dims[d] != o.Dims[d] && a.Dims[d] != 1) || (b.Dims[d] != o.Dims[d] && b.Dims[d] != 1))
                    throw Bad(where, "inputs " + a.ShapeText() + " and " + b.ShapeText() + " do not broadcast to output " + o.ShapeText());
            }
            Params(op, Format.ElementwiseParams, where);
            Offset(P(op, 0), where); Offset(P(op, 1), where); Offset(P(op, 2), where);
            Activation(P(op, 10), P(op, 11), where);
            int ls = P(op, 3);
            if (ls < 0 || ls > 20) throw Bad(where, "left shift " + ls + " is outside [0, 20]");
            Multiplier(P(op, 8), where); Shift(P(op, 9), where);
            if (op.Type != Format.Mul)
            {
                Multiplier(P(op, 4), where); Shift(P(op, 5), where); Multiplier(P(op, 6), where); Shift(P(op, 7), where);
                if (P(op, 5) > 0 || P(op, 7) > 0) throw Bad(where, "input multipliers must be below one (shift <= 0)");
            }
        }

        private void ValidatePool(OpRecord op, string where)
        {
            Arity(op, 1, 1, where);
            TensorRecord input = Act(op.Inputs[0], 4, where, "input", false);
            TensorRecord output = Act(op.Outputs[0], 4, where, "output", false);
            Params(op, Format.PoolParams, where);
            int sh = P(op, 0), sw = P(op, 1), fh = P(op, 2), fw = P(op, 3);
            if (sh < 1 || sw < 1 || fh < 1 || fw < 1 || sh > 256 || sw > 256 || fh > 256 || fw > 256)
                throw Bad(where, "strides and filter sizes must be in [1, 256]");
            int pt = P(op, 4), pl = P(op, 5), pb = P(op, 6), pr = P(op, 7);
            Pads(pt, pl, pb, pr, where);
            if (pt >= fh || pb >= fh || pl >= fw || pr >= fw)
                throw Bad(where, "padding must be smaller than the filter (a window would see only padding)");
            long oh = OutSize(input.Dims[1], fh, sh, 1, pt, pb);
            long ow = OutSize(input.Dims[2], fw, sw, 1, pl, pr);
            if (output.Dims[0] != input.Dims[0] || output.Dims[1] != oh || output.Dims[2] != ow || output.Dims[3] != input.Dims[3])
                throw Bad(where, "output shape " + output.ShapeText() + " does not match input " + input.ShapeText() + " and parameters (expected [" + input.Dims[0] + ", " + oh + ", " + ow + ", " + input.Dims[3] + "])");
            if (QuantOf(op.Inputs[0]).ZeroPoint != QuantOf(op.Outputs[0]).ZeroPoint || Scale(input.QuantIndex, 0) != Scale(output.QuantIndex, 0))
                throw Bad(where, "pooling input and output must share scale and zero point");
            Activation(P(op, 8), P(op, 9), where);
        }

        private void ValidateConcat(OpRecord op, string where)
        {
            if (op.InputCount < 1 || op.OutputCount != 1) throw Bad(where, "expects 1 to 4 inputs and 1 output, has " + op.InputCount + " and " + op.OutputCount);
            TensorRecord o = Act(op.Outputs[0], 4, where, "output", false);
            Params(op, Format.ConcatParams, where);
            int axis = P(op, 0);
            if (axis < 0 || axis > 3) throw Bad(where, "axis " + axis + " is outside [0, 3]");
            if (P(op, 1) != op.InputCount) throw Bad(where, "parameters name " + P(op, 1) + " inputs, the op has " + op.InputCount);
            long sum = 0;
            for (int k = 0; k < op.InputCount; k++)
            {
                TensorRecord t = Act(op.Inputs[k], 4, where, "input " + k, true);
                for (int d = 0; d < 4; d++)
                    if (d != axis && t.Dims[d] != o.Dims[d]) throw Bad(where, "input " + k + " shape " + t.ShapeText() + " differs from output " + o.ShapeText() + " off the axis");
                sum += t.Dims[axis];
            }
            if (sum != o.Dims[axis]) throw Bad(where, "inputs add up to " + sum + " along axis " + axis + ", output has " + o.Dims[axis]);
            Offset(P(op, 2), where);
            for (int k = 0; k < op.InputCount; k++)
            {
                Offset(P(op, 4 + 3 * k), where); Multiplier(P(op, 5 + 3 * k), where); Shift(P(op, 6 + 3 * k), where);
                if (P(op, 5 + 3 * k) == 0) SameQuantization(op.Inputs[k], op.Outputs[0], where, "input " + k + " is copied (multiplier 0)");
            }
        }

        private void SameQuantization(int a, int b, string where, string why)
        {
            QuantRecord qa = QuantOf(a), qb = QuantOf(b);
            float sa = Scale(Tensors[a].QuantIndex, 0), sb = Scale(Tensors[b].QuantIndex, 0);
            if (qa.ZeroPoint != qb.ZeroPoint || sa != sb)
                throw Bad(where, why + ", so tensors " + a + " and " + b + " must share scale and zero point (have " + sa + "/" + qa.ZeroPoint + " and " + sb + "/" + qb.ZeroPoint + ")");
        }

        private void FixedQuantization(int t, float scale, int zeroPoint, string where)
        {
            QuantRecord q = QuantOf(t);
            float s = Scale(Tensors[t].QuantIndex, 0);
            if (s != scale || q.ZeroPoint != zeroPoint)
                throw Bad(where, "tensor " + t + " has scale " + s + " and zero point " + q.ZeroPoint + "; the op requires scale " + scale + " and zero point " + zeroPoint);
        }

        private static long OutSize(int inSize, int k, int stride, int dilation, int padA, int padB)
        {
            long eff = (long)(k - 1) * dilation + 1;
            long span = (long)inSize + padA + padB - eff;
            return span < 0 ? 0 : span / stride + 1;
        }

        private static void Arity(OpRecord op, int nIn, int nOut, string where)
        {
            if (op.InputCount != nIn || op.OutputCount != nOut)
                throw Bad(where, "expects " + nIn + " inputs and " + nOut + " outputs, has " + op.InputCount + " and " + op.OutputCount);
        }

        private TensorRecord Act(int t, int rank, string where, string what, bool allowConstant)
        {
            TensorRecord ti = Tensors[t];
            if (ti.Type != Format.Int8) throw Bad(where, what + " (tensor " + t + ") must be int8, is type " + ti.Type);
            if (!allowConstant && ti.Storage != Format.Arena) throw Bad(where, what + " (tensor " + t + ") must be in the arena");
            if (ti.Rank != rank) throw Bad(where, what + " (tensor " + t + ") must have rank " + rank + ", has " + ti.Rank);
            if (Quant[ti.QuantIndex].ChannelCount != 1) throw Bad(where, what + " (tensor " + t + ") must be quantized per tensor");
            return ti;
        }

        private TensorRecord ActAny(int t, string where, string what)
        {
            TensorRecord ti = Tensors[t];
            if (ti.Type != Format.Int8 || ti.Storage != Format.Arena) throw Bad(where, what + " (tensor " + t + ") must be an int8 arena tensor");
            if (Quant[ti.QuantIndex].ChannelCount != 1) throw Bad(where, what + " (tensor " + t + ") must be quantized per tensor");
            return ti;
        }

        private static void Bias(TensorRecord bias, int cout, string where)
        {
            if (bias.Type != Format.Int32 || bias.Storage != Format.Constant || bias.ElementCount != cout)
                throw Bad(where, "bias must be a constant int32 tensor of " + cout + " elements");
        }

        private static void Params(OpRecord op, int size, string where)
        {
            if (op.ParamsBytes != size) throw Bad(where, "parameters are " + op.ParamsBytes + " bytes, expected " + size);
        }

        /// <summary>
        /// The folded bias the fast native kernels trust must be bias + input_offset x sum(filter) of
        /// each output channel, in wrapping int32 arithmetic (docs/format.md), as the C# and C readers check.
        /// Conv2D [Cout, Kh, Kw, Cin] and FullyConnected [Cout, Cin]: channel oc is row oc; depthwise
        /// [1, Kh, Kw, Cout]: every Cout-th tap from oc.
        /// </summary>
        private void FoldedBias(OpRecord op, int offset, int inputOffset, int cout, bool depthwise, string where)
        {
            Const(offset, 4L * cout, 4, where, "folded bias");
            TensorRecord filter = Tensors[op.Inputs[1]];
            TensorRecord bias = Tensors[op.Inputs[2]];
            int length = filter.ElementCount;
            int per = length / cout;
            int filterAt = ConstOffset + filter.Offset;
            for (int oc = 0; oc < cout; oc++)
            {
                int sum = 0;
                if (depthwise)
                {
                    for (int k = oc; k < length; k += cout) sum += (sbyte)Blob[filterAt + k];
                }
                else
                {
                    int row = filterAt + oc * per;
                    for (int k = 0; k < per; k++) sum += (sbyte)Blob[row + k];
                }
                int expected = unchecked(Le.I32(Blob, ConstOffset + bias.Offset + 4 * oc) + inputOffset * sum);
                int stored = Le.I32(Blob, ConstOffset + offset + 4 * oc);
                if (stored != expected)
                    throw Bad(where, "folded bias entry " + oc + " (constant offset " + (offset + 4 * oc) + ") is " + stored + ", but bias + input_offset x sum(filter) of channel " + oc + " is " + expected);
            }
        }

        private void Const(int offset, long bytes, int align, string where, string what)
        {
            if (offset < 0 || offset % align != 0 || offset + bytes > ConstBytes)
                throw Bad(where, what + " at constant offset " + offset + " (" + bytes + " bytes) is misaligned or outside the " + ConstBytes + "-byte constant data");
        }

        private void PerChannel(int multOffset, int shiftOffset, int count, string where)
        {
            Const(multOffset, 4L * count, 4, where, "multipliers");
            Const(shiftOffset, 4L * count, 4, where, "shifts");
            for (int k = 0; k < count; k++)
            {
                Multiplier(Le.I32(Blob, ConstOffset + multOffset + 4 * k), where);
                Shift(Le.I32(Blob, ConstOffset + shiftOffset + 4 * k), where);
            }
        }

        private static void Pads(int t, int l, int b, int r, string where)
        {
            if (t < 0 || l < 0 || b < 0 || r < 0 || t > 1024 || l > 1024 || b > 1024 || r > 1024)
                throw Bad(where, "padding (" + t + ", " + l + ", " + b + ", " + r + ") must be in [0, 1024]");
        }

        private static void Offset(int v, string where)
        {
            if (v < -255 || v > 255) throw Bad(where, "zero-point offset " + v + " is outside [-255, 255]");
        }

        private static void Activation(int min, int max, string where)
        {
            if (min < -128 || max > 127 || min > max) throw Bad(where, "activation range [" + min + ", " + max + "] is not inside [-128, 127]");
        }

        private static void Multiplier(int v, string where)
        {
            if (v < 0) throw Bad(where, "multiplier " + v + " is negative");
        }

        private static void Shift(int v, string where)
        {
            if (v < -31 || v > 30) throw Bad(where, "shift " + v + " is outside [-31, 30]");
        }

        private static InvalidModelException Bad(string where, string what)
        {
            return Bad(where + ": " + what);
        }
    }
}
