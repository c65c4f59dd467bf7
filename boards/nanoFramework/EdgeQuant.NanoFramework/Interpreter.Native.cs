using System.Runtime.CompilerServices;

namespace EdgeQuant.NanoFramework
{
    // The native engine: firmware/nanoframework/edgequant_nanoframework_EdgeQuant_NanoFramework_Interpreter.cpp.
    // The arena is an int[] so that it is 4-byte aligned, as the C runtime requires.
    public sealed partial class Interpreter
    {
        private readonly int[] _nativeArena;

        private void NativeSetInput(sbyte[] source, int sourceOffset, int index)
        {
            Model.Check(SetInputNative(_model.Blob, _model.NativeState, _nativeArena, index, source, sourceOffset), "SetInput");
        }

        private void NativeGetOutput(sbyte[] destination, int destinationOffset, int index)
        {
            Model.Check(GetOutputNative(_model.Blob, _model.NativeState, _nativeArena, index, destination, destinationOffset), "GetOutput");
        }

        private void NativeInvoke()
        {
            Model.Check(InvokeNative(_model.Blob, _model.NativeState, _nativeArena), "Invoke");
        }

        /// <summary>Copies source[offset ..] into input <paramref name="index"/> of the arena. Returns an eq_status.</summary>
        [MethodImpl(MethodImplOptions.InternalCall)]
        private static extern int SetInputNative(byte[] blob, byte[] state, int[] arena, int index, sbyte[] source, int offset);

        /// <summary>Copies output <paramref name="index"/> into destination[offset ..]. Returns an eq_status.</summary>
        [MethodImpl(MethodImplOptions.InternalCall)]
        private static extern int GetOutputNative(byte[] blob, byte[] state, int[] arena, int index, sbyte[] destination, int offset);

        /// <summary>eq_interpreter_init over the arena, then eq_invoke. Returns an eq_status.</summary>
        [MethodImpl(MethodImplOptions.InternalCall)]
        private static extern int InvokeNative(byte[] blob, byte[] state, int[] arena);
    }
}
