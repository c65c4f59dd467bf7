namespace EdgeQuant.NanoFramework.Managed.Kernels
{
    /// <summary>Softmax (integer, through the blob's exp table) and table lookups (Logistic, Tanh, Lookup), as runtime/EdgeQuant.Runtime/Kernels/{Softmax,Lookup}.cs define them.</summary>
    internal static class Activations
    {
        public static void SoftmaxS8(byte[] input, int inOff, byte[] output, int outOff, int rows, int depth, byte[] constants, int tableOff)
        {
            for (int r = 0; r < rows; r++)
            {
                int x = inOff + r * depth, y = outOff + r * depth;
                int max = -128;
                for (int i = 0; i < depth; i++) max = QuantMath.Max(max, (sbyte)input[x + i]);
                long sum = 0;
                for (int i = 0; i < depth; i++) sum += Le.I32(constants, tableOff + 4 * (max - (sbyte)input[x + i]));
                long half = sum / 2;
                for (int i = 0; i < depth; i++)
                {
                    long q = ((long)Le.I32(constants, tableOff + 4 * (max - (sbyte)input[x + i])) * 256 + half) / sum;
                    long v = q - 128;
                    output[y + i] = (byte)(v < -128 ? -128 : (v > 127 ? 127 : v));
                }
            }
        }

        public static void LookupS8(byte[] input, int inOff, byte[] output, int outOff, int count, byte[] constants, int tableOff)
        {
            for (int i = 0; i < count; i++)
                output[outOff + i] = constants[tableOff + (sbyte)input[inOff + i] + 128];
        }
    }
}
