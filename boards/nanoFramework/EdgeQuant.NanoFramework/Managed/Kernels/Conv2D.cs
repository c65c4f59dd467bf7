namespace EdgeQuant.NanoFramework.Managed.Kernels
{
    /// <summary>
    /// Conv2D and DepthwiseConv2D: the loop nests of runtime/EdgeQuant.Runtime/Kernels/Conv2D.Reference.cs and
    /// DepthwiseConv2D.Reference.cs over byte arrays plus offsets. p: the Conv2DParams words.
    /// </summary>
    internal static class Conv2D
    {
        public static void EvalS8(int[] p, byte[] input, int inOff, int[] inShape, byte[] filter, int fOff, int[] fShape,
            byte[] constants, int biasOff, int multOff, int shiftOff, byte[] output, int outOff, int[] outShape)
        {
            int batches = inShape[0], inH = inShape[1], inW = inShape[2], cin = inShape[3];
            int kh = fShape[1], kw = fShape[2];
            int outH = outShape[1], outW = outShape[2], cout = outShape[3];
            int strideH = p[0], strideW = p[1], dilH = p[2], dilW = p[3], padTop = p[4], padLeft = p[5];
            int inputOffset = p[8], outputOffset = p[9], actMin = p[10], actMax = p[11];
            for (int b = 0; b < batches; b++)
                for (int oy = 0; oy < outH; oy++)
                    for (int ox = 0; ox < outW; ox++)
                    {
                        int iy0 = oy * strideH - padTop, ix0 = ox * strideW - padLeft;
                        for (int oc = 0; oc < cout; oc++)
                        {
                            int acc = Le.I32(constants, biasOff + 4 * oc);
                            for (int ky = 0; ky < kh; ky++)
                            {
                                int iy = iy0 + ky * dilH;
                                if ((uint)iy >= (uint)inH) continue;
                                for (int kx = 0; kx < kw; kx++)
                                {
                                    int ix = ix0 + kx * dilW;
                                    if ((uint)ix >= (uint)inW) continue;
                                    int inBase = inOff + ((b * inH + iy) * inW + ix) * cin;
                                    int fBase = fOff + ((oc * kh + ky) * kw + kx) * cin;
                                    for (int ic = 0; ic < cin; ic++)
                                        acc += ((sbyte)input[inBase + ic] + inputOffset) * (sbyte)filter[fBase + ic];
                                }
                            }
                            int v = QuantMath.MultiplyByQuantizedMultiplier(acc, Le.I32(constants, multOff + 4 * oc), Le.I32(constants, shiftOff + 4 * oc)) + outputOffset;
                            output[outOff + ((b * outH + oy) * outW + ox) * cout + oc] = (byte)QuantMath.Clamp(v, actMin, actMax);
                        }
                    }
        }

        public static void EvalDepthwiseS8(int[] p, byte[] input, int inOff, int[] inShape, byte[] filter, int fOff, int[] fShape,
            byte[] constants, int biasOff, int multOff, int shiftOff, byte[] output, int outOff, int[] outShape)
        {
            int batches = inShape[0], inH = inShape[1], inW = inShape[2], cin = inShape[3];
            int kh = fShape[1], kw = fShape[2];
            int outH = outShape[1], outW = outShape[2], cout = outShape[3];
            int strideH = p[0], strideW = p[1], dilH = p[2], dilW = p[3], padTop = p[4], padLeft = p[5];
            int inputOffset = p[8], outputOffset = p[9], actMin = p[10], actMax = p[11], mult = p[14];
            for (int b = 0; b < batches; b++)
                for (int oy = 0; oy < outH; oy++)
                    for (int ox = 0; ox < outW; ox++)
                    {
                        int iy0 = oy * strideH - padTop, ix0 = ox * strideW - padLeft;
                        for (int oc = 0; oc < cout; oc++)
                        {
                            int ic = oc / mult;
                            int acc = Le.I32(constants, biasOff + 4 * oc);
                            for (int ky = 0; ky < kh; ky++)
                            {
                                int iy = iy0 + ky * dilH;
                                if ((uint)iy >= (uint)inH) continue;
                                for (int kx = 0; kx < kw; kx++)
                                {
                                    int ix = ix0 + kx * dilW;
                                    if ((uint)ix >= (uint)inW) continue;
                                    acc += ((sbyte)input[inOff + ((b * inH + iy) * inW + ix) * cin + ic] + inputOffset) * (sbyte)filter[fOff + (ky * kw + kx) * cout + oc];
                                }
                            }
                            int v = QuantMath.MultiplyByQuantizedMultiplier(acc, Le.I32(constants, multOff + 4 * oc), Le.I32(constants, shiftOff + 4 * oc)) + outputOffset;
                            output[outOff + ((b * outH + oy) * outW + ox) * cout + oc] = (byte)QuantMath.Clamp(v, actMin, actMax);
                        }
                    }
        }
    }
}
