using System;
using EdgeQuant.NanoFramework.Managed;

namespace EdgeQuant.NanoFramework
{
    /// <summary>
    /// Runs a <see cref="Model"/>. The arena (<see cref="Model.ArenaBytes"/>) is allocated once, here;
    /// <see cref="SetInput(sbyte[])"/>, <see cref="Invoke"/> and <see cref="GetOutput(sbyte[])"/> allocate
    /// nothing for int8 inputs and outputs. Not thread-safe: one interpreter per thread.
    /// </summary>
    public sealed partial class Interpreter
    {
        private readonly Model _model;
        private readonly ManagedEngine _managed;
        private readonly sbyte[] _staging;

        /// <summary>Creates an interpreter and allocates its arena.</summary>
        /// <exception cref="OutOfMemoryException">The device heap cannot hold the arena (see docs/nanoframework.md, sizing the arena).</exception>
        public Interpreter(Model model)
        {
            if (model == null) throw new ArgumentNullException("model");
            _model = model;
            int staging = 0;
            for (int i = 0; i < model.InputCount; i++) if (model.GetInputType(i) == Model.TypeInt8 && model.GetInputBytes(i) > staging) staging = model.GetInputBytes(i);
            for (int i = 0; i < model.OutputCount; i++) if (model.GetOutputType(i) == Model.TypeInt8 && model.GetOutputBytes(i) > staging) staging = model.GetOutputBytes(i);
            _staging = new sbyte[staging];
            if (model.Engine == ModelEngine.Managed)
                _managed = new ManagedEngine(model.Reader, new byte[model.ArenaBytes < 16 ? 16 : model.ArenaBytes]);
#if !EQ_MANAGED_ONLY
            else
                _nativeArena = new int[(model.ArenaBytes + 3) / 4 + 1];
#endif
        }

        public Model Model { get { return _model; } }

        /// <summary>Writes input 0 (int8, NHWC, exactly <see cref="Model.GetInputBytes"/> values).</summary>
        public void SetInput(sbyte[] values)
        {
            SetInput(values, 0, 0);
        }

        /// <summary>Writes input <paramref name="index"/> from <paramref name="source"/> starting at <paramref name="sourceOffset"/> (int8, NHWC).</summary>
        public void SetInput(sbyte[] source, int sourceOffset, int index)
        {
            int n = CheckIo(source, sourceOffset, index, false);
            if (_managed != null)
            {
                byte[] arena = _managed.Arena;
                int o = _model.InputArenaOffset(index);
                for (int i = 0; i < n; i++) arena[o + i] = (byte)source[sourceOffset + i];
            }
#if !EQ_MANAGED_ONLY
            else NativeSetInput(source, sourceOffset, index);
#endif
        }

        /// <summary>Reads output 0 (int8) into <paramref name="destination"/> (exactly <see cref="Model.GetOutputBytes"/> values).</summary>
        public void GetOutput(sbyte[] destination)
        {
            GetOutput(destination, 0, 0);
        }

        /// <summary>Reads output <paramref name="index"/> into <paramref name="destination"/> starting at <paramref name="destinationOffset"/>.</summary>
        public void GetOutput(sbyte[] destination, int destinationOffset, int index)
        {
            int n = CheckIo(destination, destinationOffset, index, true);
            if (_managed != null)
            {
                byte[] arena = _managed.Arena;
                int o = _model.OutputArenaOffset(index);
                for (int i = 0; i < n; i++) destination[destinationOffset + i] = (sbyte)arena[o + i];
            }
#if !EQ_MANAGED_ONLY
            else NativeGetOutput(destination, destinationOffset, index);
#endif
        }

        /// <summary>
        /// Writes float values (NHWC, one per element) into input <paramref name="index"/>, quantized with the
        /// C# runtime's arithmetic: round half away from zero of value / scale, plus the zero point, saturated.
        /// A float32 input (a model starting with Quantize) is copied as is (managed engine only).
        /// </summary>
        public void SetInput(float[] values, int index)
        {
            if (values == null) throw new ArgumentNullException("values");
            CheckIndex(index, false);
            int type = _model.GetInputType(index), bytes = _model.GetInputBytes(index);
            int count = type == Model.TypeInt8 ? bytes : bytes / 4;
            if (values.Length != count) throw new ArgumentException("input " + index + " takes " + count + " values, got " + values.Length, "values");
            if (type == Model.TypeFloat32)
            {
                byte[] arena = ManagedArenaFor("float32 input " + index);
                int o = _model.InputArenaOffset(index);
                for (int i = 0; i < count; i++) Le.WriteF32(arena, o + 4 * i, values[i]);
                return;
            }
            float scale = _model.GetInputScale(index);
            int zp = _model.GetInputZeroPoint(index);
            for (int i = 0; i < count; i++) _staging[i] = QuantMath.QuantizeS8(values[i], scale, zp);
            SetInput(_staging, 0, index);
        }

        /// <summary>Writes float values into input 0 (see <see cref="SetInput(float[], int)"/>).</summary>
        public void SetInput(float[] values)
        {
            SetInput(values, 0);
        }

        /// <summary>Reads output <paramref name="index"/> as floats: (q - zero point) x scale for int8, copied for float32 (managed engine only).</summary>
        public void GetOutput(float[] destination, int index)
        {
            if (destination == null) throw new ArgumentNullException("destination");
            CheckIndex(index, true);
            int type = _model.GetOutputType(index), bytes = _model.GetOutputBytes(index);
            int count = type == Model.TypeInt8 ? bytes : bytes / 4;
            if (destination.Length != count) throw new ArgumentException("output " + index + " has " + count + " values, the destination " + destination.Length, "destination");
            if (type == Model.TypeFloat32)
            {
                byte[] arena = ManagedArenaFor("float32 output " + index);
                int o = _model.OutputArenaOffset(index);
                for (int i = 0; i < count; i++) destination[i] = Le.F32(arena, o + 4 * i);
                return;
            }
            GetOutput(_staging, 0, index);
            float scale = _model.GetOutputScale(index);
            int zp = _model.GetOutputZeroPoint(index);
            for (int i = 0; i < count; i++) destination[i] = QuantMath.DequantizeS8(_staging[i], scale, zp);
        }

        /// <summary>Reads output 0 as floats (see <see cref="GetOutput(float[], int)"/>).</summary>
        public void GetOutput(float[] destination)
        {
            GetOutput(destination, 0);
        }

        /// <summary>Runs every op of the model in order.</summary>
        public void Invoke()
        {
            if (_managed != null) _managed.Invoke();
#if !EQ_MANAGED_ONLY
            else NativeInvoke();
#endif
        }

        private byte[] ManagedArenaFor(string what)
        {
            if (_managed == null) throw new NotSupportedException(what + ": the native engine exchanges int8 tensors only; use ModelEngine.Managed for float32 inputs and outputs");
            return _managed.Arena;
        }

        private void CheckIndex(int index, bool output)
        {
            int count = output ? _model.OutputCount : _model.InputCount;
            if (index < 0 || index >= count) throw new ArgumentOutOfRangeException("index", (output ? "output " : "input ") + index + " does not exist; the model has " + count);
        }

        private int CheckIo(sbyte[] buffer, int offset, int index, bool output)
        {
            if (buffer == null) throw new ArgumentNullException(output ? "destination" : "source");
            CheckIndex(index, output);
            int type = output ? _model.GetOutputType(index) : _model.GetInputType(index);
            if (type != Model.TypeInt8) throw new InvalidOperationException((output ? "output " : "input ") + index + " is a float32 tensor; use the float overload");
            int n = output ? _model.GetOutputBytes(index) : _model.GetInputBytes(index);
            if (offset < 0 || offset > buffer.Length - n)
                throw new ArgumentOutOfRangeException(output ? "destinationOffset" : "sourceOffset", (output ? "output " : "input ") + index + " has " + n + " values; offset " + offset + " in an array of " + buffer.Length + " leaves too few");
            return n;
        }
    }
}
