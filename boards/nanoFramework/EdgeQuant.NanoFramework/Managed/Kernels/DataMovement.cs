namespace EdgeQuant.NanoFramework.Managed.Kernels
{
    /// <summary>Concatenation, Pad and Transpose as runtime/EdgeQuant.Runtime/Kernels/{Concatenation,Pad,Transpose}.cs define them.</summary>
    internal static class DataMovement
    {
        /// <summary>Copies (multiplier 0) or rescales one input into its slot of the output; axisOffset is its start along the axis.</summary>
        public static void ConcatInputS8(byte[] input, int inOff, int[] inShape, byte[] output, int outOff, int[] outShape,
            int axis, int axisOffset, int inputOffset, int multiplier, int shift, int outputOffset)
        {
            int outer = 1, inner = 1;
            for (int d = 0; d < axis; d++) outer *= inShape[d];
            for (int d = axis + 1; d < 4; d++) inner *= inShape[d];
            int chunk = inShape[axis] * inner;
            for (int o = 0; o < outer; o++)
            {
                int src = inOff + o * chunk;
                int dst = outOff + (o * outShape[axis] + axisOffset) * inner;
                if (multiplier == 0)
                {
                    System.Array.Copy(input, src, output, dst, chunk);
                    continue;
                }
                for (int i = 0; i < chunk; i++)
                {
                    int v = QuantMath.MultiplyByQuantizedMultiplier((sbyte)input[src + i] + inputOffset, multiplier, shift) + outputOffset;
                    output[dst + i] = (byte)QuantMath.Clamp(v, -128, 127);
                }
            }
        }

        /// <summary>p: the PadParams words (Before0..3, After0..3, PadValue).</summary>
        public static void PadS8(int[] p, byte[] input, int inOff, int[] inShape, byte[] output, int outOff, int[] outShape)
        {
            int total = outShape[0] * outShape[1] * outShape[2] * outShape[3];
            byte fill = (byte)p[8];
            for (int i = 0; i < total; i++) output[outOff + i] = fill;
            int rowLen = inShape[3];
            for (int a = 0; a < inShape[0]; a++)
                for (int b = 0; b < inShape[1]; b++)
                    for (int c = 0; c < inShape[2]; c++)
                    {
                        int src = ((a * inShape[1] + b) * inShape[2] + c) * inShape[3];
                        int dst = (((a + p[0]) * outShape[1] + b + p[1]) * outShape[2] + c + p[2]) * outShape[3] + p[3];
                        System.Array.Copy(input, inOff + src, output, outOff + dst, rowLen);
                    }
        }

        /// <summary>Output dim i is input dim perm[i]; p: the TransposeParams words.</summary>
        public static void TransposeS8(int[] p, byte[] input, int inOff, int[] inShape, byte[] output, int outOff, int[] outShape)
        {
            int st3 = 1, st2 = inShape[3], st1 = st2 * inShape[2], st0 = st1 * inShape[1];
            int s0 = Stride(p[0], st0, st1, st2, st3), s1 = Stride(p[1], st0, st1, st2, st3), s2 = Stride(p[2], st0, st1, st2, st3), s3 = Stride(p[3], st0, st1, st2, st3);
            int i = outOff;
            for (int a = 0; a < outShape[0]; a++)
                for (int b = 0; b < outShape[1]; b++)
                    for (int c = 0; c < outShape[2]; c++)
                    {
                        int baseIdx = inOff + a * s0 + b * s1 + c * s2;
                        for (int d = 0; d < outShape[3]; d++, i++)
                            output[i] = input[baseIdx + d * s3];
                    }
        }

        private static int Stride(int dim, int s0, int s1, int s2, int s3)
        {
            return dim == 0 ? s0 : (dim == 1 ? s1 : (dim == 2 ? s2 : s3));
        }
    }
}
