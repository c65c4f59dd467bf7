namespace EdgeQuant.NanoFramework.Managed.Kernels
{
    /// <summary>Mean over H and W with the accumulator pre-shift of runtime/EdgeQuant.Runtime/Kernels/Mean.Reference.cs. p: the MeanParams words.</summary>
    internal static class Mean
    {
        /// <summary>The largest L &lt;= 16 with 383 x hw x 2^L &lt; 2^31 and shift - L &gt;= -31; 0 when shift is positive.</summary>
        public static int HeadroomShift(int hw, int shift)
        {
            if (shift > 0) return 0;
            long bound = 383L * hw;
            int l = 0;
            while (l < 16 && (bound << (l + 1)) < int.MaxValue && shift - (l + 1) >= -31) l++;
            return l;
        }

        public static void EvalS8(int[] p, byte[] input, int inOff, int[] inShape, byte[] output, int outOff)
        {
            int hw = inShape[1] * inShape[2], c = inShape[3];
            int inputOffset = p[0], outputOffset = p[1], multiplier = p[2], shift = p[3];
            int l = HeadroomShift(hw, shift);
            for (int b = 0; b < inShape[0]; b++)
                for (int ch = 0; ch < c; ch++)
                {
                    int acc = 0;
                    for (int i = 0; i < hw; i++)
                        acc += (sbyte)input[inOff + (b * hw + i) * c + ch] + inputOffset;
                    int v = QuantMath.MultiplyByQuantizedMultiplier(acc << l, multiplier, shift - l) + outputOffset;
                    output[outOff + b * c + ch] = (byte)QuantMath.Clamp(v, -128, 127);
                }
        }
    }
}
