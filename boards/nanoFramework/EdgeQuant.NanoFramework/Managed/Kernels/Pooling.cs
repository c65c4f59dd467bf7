namespace EdgeQuant.NanoFramework.Managed.Kernels
{
    /// <summary>MaxPool2D and AveragePool2D as runtime/EdgeQuant.Runtime/Kernels/Pooling.Reference.cs defines them. p: the PoolParams words.</summary>
    internal static class Pooling
    {
        public static void EvalS8(int[] p, bool max, byte[] input, int inOff, int[] inShape, byte[] output, int outOff, int[] outShape)
        {
            int inH = inShape[1], inW = inShape[2], c = inShape[3];
            int strideH = p[0], strideW = p[1], filterH = p[2], filterW = p[3], padTop = p[4], padLeft = p[5], actMin = p[8], actMax = p[9];
            for (int b = 0; b < inShape[0]; b++)
                for (int oy = 0; oy < outShape[1]; oy++)
                    for (int ox = 0; ox < outShape[2]; ox++)
                    {
                        int y0 = oy * strideH - padTop, x0 = ox * strideW - padLeft;
                        int ys = QuantMath.Max(0, y0), ye = QuantMath.Min(inH, y0 + filterH);
                        int xs = QuantMath.Max(0, x0), xe = QuantMath.Min(inW, x0 + filterW);
                        int count = (ye - ys) * (xe - xs);
                        for (int ch = 0; ch < c; ch++)
                        {
                            int r;
                            if (max)
                            {
                                r = -128;
                                for (int y = ys; y < ye; y++)
                                    for (int x = xs; x < xe; x++)
                                        r = QuantMath.Max(r, (sbyte)input[inOff + ((b * inH + y) * inW + x) * c + ch]);
                            }
                            else
                            {
                                int sum = 0;
                                for (int y = ys; y < ye; y++)
                                    for (int x = xs; x < xe; x++)
                                        sum += (sbyte)input[inOff + ((b * inH + y) * inW + x) * c + ch];
                                r = sum > 0 ? (sum + count / 2) / count : (sum - count / 2) / count;
                            }
                            output[outOff + ((b * outShape[1] + oy) * outShape[2] + ox) * c + ch] = (byte)QuantMath.Clamp(r, actMin, actMax);
                        }
                    }
        }
    }
}
