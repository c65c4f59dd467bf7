using System;
using EdgeQuant.NanoFramework.Managed;

namespace EdgeQuant.NanoFramework
{
    /// <summary>
    /// A validated EdgeQuant model (.eqm blob) held in a byte array, e.g. a resource. The blob is read
    /// in place and must not be modified afterwards. Validation happens here, once: after it, running
    /// the model cannot fail. Several interpreters may share one model.
    /// </summary>
    public sealed partial class Model
    {
        /// <summary>Element types of model inputs and outputs (as in the blob).</summary>
        public const int TypeInt8 = 1, TypeFloat32 = 3;

        private readonly byte[] _blob;
        private readonly ModelEngine _engine;
        private readonly ModelReader _reader;
        private int _arenaBytes;
        private int[] _inBytes, _inType, _inZeroPoint, _inArenaOffset;
        private float[] _inScale;
        private int[] _outBytes, _outType, _outZeroPoint, _outArenaOffset;
        private float[] _outScale;

        /// <summary>Loads a blob with the default engine: native in EdgeQuant.NanoFramework, managed in EdgeQuant.NanoFramework.Managed.</summary>
        /// <exception cref="InvalidModelException">The blob is malformed; the message says what and where.</exception>
        public Model(byte[] blob)
            : this(blob, DefaultEngine, 256 * 1024 * 1024)
        {
        }

        /// <summary>Loads a blob with the given engine; a blob asking for more than <paramref name="maxArenaBytes"/> of arena is refused.</summary>
        /// <exception cref="InvalidModelException">The blob is malformed or asks for too large an arena.</exception>
        /// <exception cref="NotSupportedException">The native engine was asked for in the managed-only build.</exception>
        public Model(byte[] blob, ModelEngine engine, int maxArenaBytes)
        {
            if (blob == null) throw new ArgumentNullException("blob");
            if (maxArenaBytes < 0) throw new ArgumentOutOfRangeException("maxArenaBytes");
            _blob = blob;
            _engine = engine;
            if (engine == ModelEngine.Managed)
            {
                _reader = new ModelReader(blob, maxArenaBytes, false);
                DescribeManaged();
            }
            else if (engine == ModelEngine.Native)
            {
#if EQ_MANAGED_ONLY
                throw new NotSupportedException("this build of EdgeQuant.NanoFramework has no native module; use ModelEngine.Managed or the EdgeQuant.NanoFramework assembly with a firmware that includes firmware/nanoframework");
#else
                LoadNative(maxArenaBytes);
#endif
            }
            else throw new ArgumentException("unknown engine " + (int)engine, "engine");
        }

#if EQ_MANAGED_ONLY
        private const ModelEngine DefaultEngine = ModelEngine.Managed;
#else
        private const ModelEngine DefaultEngine = ModelEngine.Native;
#endif

        /// <summary>The engine that runs this model.</summary>
        public ModelEngine Engine { get { return _engine; } }

        /// <summary>Bytes of working memory one interpreter allocates (activations and kernel scratch).</summary>
        public int ArenaBytes { get { return _arenaBytes; } }

        /// <summary>Size of the blob in bytes.</summary>
        public int BlobBytes { get { return _blob.Length; } }

        public int InputCount { get { return _inBytes.Length; } }

        public int OutputCount { get { return _outBytes.Length; } }

        /// <summary>Bytes of input <paramref name="index"/> (its element count for an int8 input; NHWC order).</summary>
        public int GetInputBytes(int index) { return _inBytes[index]; }

        /// <summary>Bytes of output <paramref name="index"/> (its element count for an int8 output).</summary>
        public int GetOutputBytes(int index) { return _outBytes[index]; }

        /// <summary><see cref="TypeInt8"/> or <see cref="TypeFloat32"/>.</summary>
        public int GetInputType(int index) { return _inType[index]; }

        public int GetOutputType(int index) { return _outType[index]; }

        /// <summary>Scale of an int8 input: real = scale x (q - zero point).</summary>
        public float GetInputScale(int index) { return _inScale[index]; }

        public int GetInputZeroPoint(int index) { return _inZeroPoint[index]; }

        public float GetOutputScale(int index) { return _outScale[index]; }

        public int GetOutputZeroPoint(int index) { return _outZeroPoint[index]; }

        internal byte[] Blob { get { return _blob; } }

        internal ModelReader Reader { get { return _reader; } }

        internal int InputArenaOffset(int index) { return _inArenaOffset[index]; }

        internal int OutputArenaOffset(int index) { return _outArenaOffset[index]; }

        private void DescribeManaged()
        {
            _arenaBytes = _reader.ArenaBytes;
            int nIn = _reader.Inputs.Length, nOut = _reader.Outputs.Length;
            AllocateIo(nIn, nOut);
            for (int i = 0; i < nIn; i++)
                DescribeManagedTensor(_reader.Inputs[i], i, _inBytes, _inType, _inZeroPoint, _inScale, _inArenaOffset);
            for (int i = 0; i < nOut; i++)
                DescribeManagedTensor(_reader.Outputs[i], i, _outBytes, _outType, _outZeroPoint, _outScale, _outArenaOffset);
        }

        private void DescribeManagedTensor(int t, int i, int[] bytes, int[] type, int[] zp, float[] scale, int[] offset)
        {
            TensorRecord r = _reader.Tensors[t];
            bytes[i] = r.ByteLength;
            type[i] = r.Type;
            offset[i] = r.Offset;
            if (r.QuantIndex >= 0)
            {
                scale[i] = _reader.Scale(r.QuantIndex, 0);
                zp[i] = _reader.Quant[r.QuantIndex].ZeroPoint;
            }
        }

        private void AllocateIo(int nIn, int nOut)
        {
            _inBytes = new int[nIn]; _inType = new int[nIn]; _inZeroPoint = new int[nIn]; _inArenaOffset = new int[nIn]; _inScale = new float[nIn];
            _outBytes = new int[nOut]; _outType = new int[nOut]; _outZeroPoint = new int[nOut]; _outArenaOffset = new int[nOut]; _outScale = new float[nOut];
        }
    }
}
