using EdgeQuant.NanoFramework.Managed.Kernels;

namespace EdgeQuant.NanoFramework.Managed
{
    /// <summary>
    /// Runs a validated model with the scalar reference kernels, in the nanoFramework subset: slow and
    /// exact (the bytes of the C# runtime). The arena is one byte array, allocated by the caller once;
    /// parameter records are decoded once here, so <see cref="Invoke"/> allocates nothing for int8 models.
    /// </summary>
    internal sealed class ManagedEngine
    {
        private readonly ModelReader _m;
        private readonly byte[] _arena;
        private readonly int[][] _params;

        public ManagedEngine(ModelReader model, byte[] arena)
        {
            _m = model;
            _arena = arena;
            _params = new int[model.Ops.Length][];
            for (int i = 0; i < model.Ops.Length; i++)
            {
                OpRecord op = model.Ops[i];
                int[] words = new int[op.ParamsBytes / 4];
                for (int k = 0; k < words.Length; k++) words[k] = model.P(op, k);
                _params[i] = words;
            }
        }

        public byte[] Arena { get { return _arena; } }

        public void Invoke()
        {
            for (int i = 0; i < _m.Ops.Length; i++) Run(i);
        }

        private byte[] Buf(int t)
        {
            return _m.Tensors[t].Storage == Format.Arena ? _arena : _m.Blob;
        }

        private int Off(int t)
        {
            TensorRecord r = _m.Tensors[t];
            return r.Storage == Format.Arena ? r.Offset : _m.ConstOffset + r.Offset;
        }

        private void Run(int index)
        {
            OpRecord op = _m.Ops[index];
            int[] p = _params[index];
            TensorRecord[] ts = _m.Tensors;
            int in0 = op.Inputs[0], out0 = op.Outputs[0];
            byte[] blob = _m.Blob;
            int cb = _m.ConstOffset;
            switch (op.Type)
            {
                case Format.Conv2D:
                    Conv2D.EvalS8(p, _arena, Off(in0), ts[in0].Dims, blob, Off(op.Inputs[1]), ts[op.Inputs[1]].Dims,
                        blob, Off(op.Inputs[2]), cb + p[12], cb + p[13], _arena, Off(out0), ts[out0].Dims);
                    break;
                case Format.DepthwiseConv2D:
                    Conv2D.EvalDepthwiseS8(p, _arena, Off(in0), ts[in0].Dims, blob, Off(op.Inputs[1]), ts[op.Inputs[1]].Dims,
                        blob, Off(op.Inputs[2]), cb + p[12], cb + p[13], _arena, Off(out0), ts[out0].Dims);
                    break;
                case Format.FullyConnected:
                {
                    int cout = ts[op.Inputs[1]].Dims[0], cin = ts[op.Inputs[1]].Dims[1];
                    FullyConnected.EvalS8(p, _arena, Off(in0), ts[in0].ElementCount / cin, cin, blob, Off(op.Inputs[1]), cout,
                        blob, Off(op.Inputs[2]), cb + p[4], cb + p[5], _arena, Off(out0));
                    break;
                }
                case Format.Add:
                case Format.Sub:
                case Format.Mul:
                {
                    int in1 = op.Inputs[1];
                    int kind = op.Type == Format.Add ? 0 : (op.Type == Format.Sub ? 1 : 2);
                    Elementwise.EvalS8(p, kind, Buf(in0), Off(in0), ts[in0].Dims, Buf(in1), Off(in1), ts[in1].Dims, _arena, Off(out0), ts[out0].Dims);
                    break;
                }
                case Format.MaxPool2D:
                case Format.AveragePool2D:
                    Pooling.EvalS8(p, op.Type == Format.MaxPool2D, _arena, Off(in0), ts[in0].Dims, _arena, Off(out0), ts[out0].Dims);
                    break;
                case Format.Mean:
                    Mean.EvalS8(p, _arena, Off(in0), ts[in0].Dims, _arena, Off(out0));
                    break;
                case Format.Concatenation:
                {
                    int axis = p[0], axisOffset = 0;
                    for (int k = 0; k < op.InputCount; k++)
                    {
                        int t = op.Inputs[k];
                        DataMovement.ConcatInputS8(Buf(t), Off(t), ts[t].Dims, _arena, Off(out0), ts[out0].Dims,
                            axis, axisOffset, p[4 + 3 * k], p[5 + 3 * k], p[6 + 3 * k], p[2]);
                        axisOffset += ts[t].Dims[axis];
                    }
                    break;
                }
                case Format.Pad:
                    DataMovement.PadS8(p, _arena, Off(in0), ts[in0].Dims, _arena, Off(out0), ts[out0].Dims);
                    break;
                case Format.Transpose:
                    DataMovement.TransposeS8(p, _arena, Off(in0), ts[in0].Dims, _arena, Off(out0), ts[out0].Dims);
                    break;
                case Format.Reshape:
                    if (ts[in0].Storage != Format.Arena || ts[in0].Offset != ts[out0].Offset)
                        System.Array.Copy(Buf(in0), Off(in0), _arena, Off(out0), ts[out0].ByteLength);
                    break;
                case Format.Softmax:
                {
                    TensorRecord t = ts[in0];
                    int depth = t.Dims[t.Rank - 1];
                    Activations.SoftmaxS8(_arena, Off(in0), _arena, Off(out0), t.ElementCount / depth, depth, blob, cb + p[0]);
                    break;
                }
                case Format.Logistic:
                case Format.Tanh:
                case Format.Lookup:
                    Activations.LookupS8(_arena, Off(in0), _arena, Off(out0), ts[in0].ElementCount, blob, cb + p[0]);
                    break;
                case Format.Quantize:
                    Quantize.F32ToS8(_arena, Off(in0), _arena, Off(out0), ts[in0].ElementCount, Le.F32(blob, op.ParamsOffset), p[1]);
                    break;
                case Format.Dequantize:
                    Quantize.S8ToF32(_arena, Off(in0), _arena, Off(out0), ts[in0].ElementCount, Le.F32(blob, op.ParamsOffset), p[1]);
                    break;
            }
        }
    }
}
