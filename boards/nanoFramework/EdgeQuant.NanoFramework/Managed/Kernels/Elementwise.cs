namespace EdgeQuant.NanoFramework.Managed.Kernels
{
    /// <summary>Add, Sub and Mul with broadcasting as runtime/EdgeQuant.Runtime/Kernels/Elementwise.Reference.cs defines them. p: the ElementwiseParams words.</summary>
    internal static class Elementwise
    {
        public static int AddOne(int[] p, int x, int y, bool subtract)
        {
            int a = (x + p[0]) * (1 << p[3]);
            int b = (y + p[1]) * (1 << p[3]);
            int sa = QuantMath.MultiplyByQuantizedMultiplier(a, p[4], p[5]);
            int sb = QuantMath.MultiplyByQuantizedMultiplier(b, p[6], p[7]);
            int sum = subtract ? sa - sb : sa + sb;
            int v = QuantMath.MultiplyByQuantizedMultiplier(sum, p[8], p[9]) + p[2];
            return QuantMath.Clamp(v, p[10], p[11]);
        }

        public static int MulOne(int[] p, int x, int y)
        {
            int prod = (x + p[0]) * (y + p[1]);
            int v = QuantMath.MultiplyByQuantizedMultiplier(prod, p[8], p[9]) + p[2];
            return QuantMath.Clamp(v, p[10], p[11]);
        }

        /// <summary>kind: 0 Add, 1 Sub, 2 Mul.</summary>
        public static void EvalS8(int[] p, int kind, byte[] a, int aOff, int[] aShape, byte[] b, int bOff, int[] bShape,
            byte[] output, int outOff, int[] outShape)
        {
            int i = outOff;
            for (int d0 = 0; d0 < outShape[0]; d0++)
                for (int d1 = 0; d1 < outShape[1]; d1++)
                    for (int d2 = 0; d2 < outShape[2]; d2++)
                        for (int d3 = 0; d3 < outShape[3]; d3++, i++)
                        {
                            int x = (sbyte)a[aOff + Index(aShape, d0, d1, d2, d3)];
                            int y = (sbyte)b[bOff + Index(bShape, d0, d1, d2, d3)];
                            output[i] = (byte)(kind == 2 ? MulOne(p, x, y) : AddOne(p, x, y, kind == 1));
                        }
        }

        /// <summary>Flat index of a broadcast element: dimensions of size 1 repeat.</summary>
        private static int Index(int[] s, int d0, int d1, int d2, int d3)
        {
            int i0 = s[0] == 1 ? 0 : d0, i1 = s[1] == 1 ? 0 : d1, i2 = s[2] == 1 ? 0 : d2, i3 = s[3] == 1 ? 0 : d3;
            return ((i0 * s[1] + i1) * s[2] + i2) * s[3] + i3;
        }
    }
}
