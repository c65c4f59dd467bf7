namespace EdgeQuant.NanoFramework.Managed.Kernels
{
    /// <summary>FullyConnected as runtime/EdgeQuant.Runtime/Kernels/FullyConnected.Reference.cs defines it. p: the FullyConnectedParams words.</summary>
    internal static class FullyConnected
    {
        public static void EvalS8(int[] p, byte[] input, int inOff, int batches, int cin, byte[] filter, int fOff, int cout,
            byte[] constants, int biasOff, int multOff, int shiftOff, byte[] output, int outOff)
        {
            int inputOffset = p[0], outputOffset = p[1], actMin = p[2], actMax = p[3];
            for (int b = 0; b < batches; b++)
                for (int oc = 0; oc < cout; oc++)
                {
                    int acc = Le.I32(constants, biasOff + 4 * oc);
                    int x = inOff + b * cin, w = fOff + oc * cin;
                    for (int ic = 0; ic < cin; ic++)
                        acc += ((sbyte)input[x + ic] + inputOffset) * (sbyte)filter[w + ic];
                    int v = QuantMath.MultiplyByQuantizedMultiplier(acc, Le.I32(constants, multOff + 4 * oc), Le.I32(constants, shiftOff + 4 * oc)) + outputOffset;
                    output[outOff + b * cout + oc] = (byte)QuantMath.Clamp(v, actMin, actMax);
                }
        }
    }
}
