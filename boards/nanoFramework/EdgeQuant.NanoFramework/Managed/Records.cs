namespace EdgeQuant.NanoFramework.Managed
{
    /// <summary>Codes of the .eqm format (docs/format.md; runtime/EdgeQuant.Runtime/Format/ModelFormat.cs).</summary>
    internal static class Format
    {
        public const uint Magic = 0x424D5145;
        public const int VersionMajor = 1;
        public const int HeaderBytes = 32;
        public const int SectionEntryBytes = 16;
        public const int Alignment = 16;
        public const int CrcStart = 16;
        public const int MaxTensors = 4096;
        public const int MaxOps = 4096;
        public const int MaxSections = 64;

        // Section kinds.
        public const int Tensors = 1, Quantization = 2, Ops = 3, OpParams = 4, ConstantData = 5, MemoryPlan = 6, IO = 7, Strings = 8, Metadata = 9;

        // Element types and storage.
        public const int Int8 = 1, Int32 = 2, Float32 = 3;
        public const int Arena = 0, Constant = 1;

        // Op codes.
        public const int Conv2D = 1, DepthwiseConv2D = 2, FullyConnected = 3, Add = 4, Mul = 5, MaxPool2D = 6, AveragePool2D = 7,
            Mean = 8, Concatenation = 9, Pad = 10, Reshape = 11, Softmax = 12, Logistic = 13, Tanh = 14, Quantize = 15,
            Dequantize = 16, Transpose = 17, Sub = 18, Lookup = 19;

        // Record sizes.
        public const int TensorRecord = 32, QuantRecord = 16, OpRecord = 48, IoRecord = 16, MetadataRecord = 16, PlanRecord = 16;
        public const int Conv2DParams = 64, FullyConnectedParams = 32, ElementwiseParams = 48, PoolParams = 48, MeanParams = 16,
            ConcatParams = 64, PadParams = 48, TransposeParams = 16, SoftmaxParams = 16, LookupParams = 16, QuantizeParams = 16;

        public static string SectionName(int kind)
        {
            switch (kind)
            {
                case Tensors: return "Tensors";
                case Quantization: return "Quantization";
                case Ops: return "Ops";
                case OpParams: return "OpParams";
                case ConstantData: return "ConstantData";
                case MemoryPlan: return "MemoryPlan";
                case IO: return "IO";
                case Strings: return "Strings";
                case Metadata: return "Metadata";
                default: return "kind " + kind;
            }
        }

        public static string OpName(int op)
        {
            switch (op)
            {
                case Conv2D: return "Conv2D";
                case DepthwiseConv2D: return "DepthwiseConv2D";
                case FullyConnected: return "FullyConnected";
                case Add: return "Add";
                case Mul: return "Mul";
                case MaxPool2D: return "MaxPool2D";
                case AveragePool2D: return "AveragePool2D";
                case Mean: return "Mean";
                case Concatenation: return "Concatenation";
                case Pad: return "Pad";
                case Reshape: return "Reshape";
                case Softmax: return "Softmax";
                case Logistic: return "Logistic";
                case Tanh: return "Tanh";
                case Quantize: return "Quantize";
                case Dequantize: return "Dequantize";
                case Transpose: return "Transpose";
                case Sub: return "Sub";
                case Lookup: return "Lookup";
                default: return "op " + op;
            }
        }

        public static int ElementSize(int type)
        {
            return type == Int8 ? 1 : (type == Int32 || type == Float32 ? 4 : 0);
        }
    }

    /// <summary>A validated tensor record. Offset is relative to the arena or to the ConstantData section.</summary>
    internal sealed class TensorRecord
    {
        public int Type, Rank, Storage, Offset, ByteLength, QuantIndex;
        public int[] Dims = new int[4];

        public int ElementCount { get { return Dims[0] * Dims[1] * Dims[2] * Dims[3]; } }

        public bool SameShape(TensorRecord o)
        {
            return Dims[0] == o.Dims[0] && Dims[1] == o.Dims[1] && Dims[2] == o.Dims[2] && Dims[3] == o.Dims[3];
        }

        public string ShapeText()
        {
            return "[" + Dims[0] + ", " + Dims[1] + ", " + Dims[2] + ", " + Dims[3] + "]";
        }
    }

    /// <summary>A quantization record: real = scale * (q - ZeroPoint); ScalesOffset is relative to ConstantData.</summary>
    internal sealed class QuantRecord
    {
        public int ChannelCount, ZeroPoint, ScalesOffset, QuantizedDimension;
    }

    /// <summary>A validated op record. ParamsOffset is absolute in the blob; scratch is absolute in the arena.</summary>
    internal sealed class OpRecord
    {
        public int Type, InputCount, OutputCount, ParamsOffset, ParamsBytes, ScratchOffset, ScratchBytes;
        public int[] Inputs = new int[4];
        public int[] Outputs = new int[2];
    }
}
