namespace EdgeQuant.NanoFramework.Managed.Kernels
{
    /// <summary>The float boundary inside a model (Quantize: float32 to int8, Dequantize: int8 to float32), as runtime/EdgeQuant.Runtime/Kernels/Quantize.cs.</summary>
    internal static class Quantize
    {
        public static void F32ToS8(byte[] input, int inOff, byte[] output, int outOff, int count, float scale, int zeroPoint)
        {
            for (int i = 0; i < count; i++)
                output[outOff + i] = (byte)QuantMath.QuantizeS8(Le.F32(input, inOff + 4 * i), scale, zeroPoint);
        }

        public static void S8ToF32(byte[] input, int inOff, byte[] output, int outOff, int count, float scale, int zeroPoint)
        {
            for (int i = 0; i < count; i++)
                Le.WriteF32(output, outOff + 4 * i, QuantMath.DequantizeS8((sbyte)input[inOff + i], scale, zeroPoint));
        }
    }
}
