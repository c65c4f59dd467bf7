using System;
using System.Runtime.CompilerServices;

namespace EdgeQuant.NanoFramework
{
    // The native engine: firmware/nanoframework/edgequant_nanoframework_EdgeQuant_NanoFramework_Model.cpp
    // implements these methods with the C runtime (firmware/include/edgequant.h). The native side keeps
    // no state between calls: the validated eq_model_t lives in _nativeState (opaque bytes), and every
    // call passes the blob again, because nanoCLR's compacting GC may move arrays between calls.
    public sealed partial class Model
    {
        private byte[] _nativeState;

        internal byte[] NativeState { get { return _nativeState; } }

        private void LoadNative(int maxArenaBytes)
        {
            _nativeState = new byte[NativeStateBytes()];
            int status = NativeLoad(_blob, _nativeState, maxArenaBytes);
            if (status != 0) throw new InvalidModelException("Invalid EdgeQuant model (native validation): " + NativeStatusText(status) + NativeErrorText(_nativeState));
            int[] info = new int[3];
            Check(NativeDescribe(_blob, _nativeState, info), "describe");
            _arenaBytes = info[0];
            AllocateIo(info[1], info[2]);
            int[] t = new int[9];
            float[] scale = new float[1];
            for (int i = 0; i < info[1]; i++)
            {
                Check(NativeTensor(_blob, _nativeState, 0, i, t, scale), "input " + i);
                _inBytes[i] = t[0]; _inType[i] = t[2]; _inZeroPoint[i] = t[3]; _inScale[i] = scale[0];
            }
            for (int i = 0; i < info[2]; i++)
            {
                Check(NativeTensor(_blob, _nativeState, 1, i, t, scale), "output " + i);
                _outBytes[i] = t[0]; _outType[i] = t[2]; _outZeroPoint[i] = t[3]; _outScale[i] = scale[0];
            }
        }

        internal static void Check(int status, string what)
        {
            if (status != 0) throw new InvalidOperationException("EdgeQuant native runtime, " + what + ": " + NativeStatusText(status));
        }

        private static string NativeErrorText(byte[] state)
        {
            int[] where = new int[3];
            if (NativeError(state, where) != 0) return "";
            return " (section " + where[0] + ", record " + where[1] + ", byte " + where[2] + ")";
        }

        /// <summary>sizeof(eq_model_t) on this device.</summary>
        [MethodImpl(MethodImplOptions.InternalCall)]
        private static extern int NativeStateBytes();

        /// <summary>eq_model_init_ex on the blob (CRC checked); the eq_model_t is stored in <paramref name="state"/>. Returns an eq_status.</summary>
        [MethodImpl(MethodImplOptions.InternalCall)]
        private static extern int NativeLoad(byte[] blob, byte[] state, int maxArenaBytes);

        /// <summary>info = [arena bytes, input count, output count]. Returns an eq_status.</summary>
        [MethodImpl(MethodImplOptions.InternalCall)]
        private static extern int NativeDescribe(byte[] blob, byte[] state, int[] info);

        /// <summary>
        /// Input (output = 0) or output (1) <paramref name="index"/>: info = [bytes, elements, type, zero point,
        /// rank, d0, d1, d2, d3], scale[0] = scale. Returns an eq_status.
        /// </summary>
        [MethodImpl(MethodImplOptions.InternalCall)]
        private static extern int NativeTensor(byte[] blob, byte[] state, int output, int index, int[] info, float[] scale);

        /// <summary>Where eq_model_init failed: where = [section, record, byte offset]. Returns an eq_status.</summary>
        [MethodImpl(MethodImplOptions.InternalCall)]
        private static extern int NativeError(byte[] state, int[] where);

        /// <summary>eq_status_str: the name and meaning of a status.</summary>
        [MethodImpl(MethodImplOptions.InternalCall)]
        internal static extern string NativeStatusText(int status);
    }
}
