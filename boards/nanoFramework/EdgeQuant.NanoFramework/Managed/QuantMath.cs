namespace EdgeQuant.NanoFramework.Managed
{
    /// <summary>
    /// The requantization of runtime/EdgeQuant.Runtime/Math/QuantMath.cs in the nanoFramework subset
    /// (no System.Math there): the same operations in the same order, so the same bytes.
    /// </summary>
    internal static class QuantMath
    {
        /// <summary>floor(a * b / 2^31 + 1/2) with C's truncating division; saturates int.MinValue * int.MinValue.</summary>
        public static int SaturatingRoundingDoublingHighMul(int a, int b)
        {
            if (a == b && a == int.MinValue)
                return int.MaxValue;
            long ab = (long)a * b;
            long nudge = ab >= 0 ? (1L << 30) : (1L - (1L << 30));
            return (int)((ab + nudge) / (1L << 31));
        }

        /// <summary>x / 2^exponent rounded half away from zero; exponent in [0, 31].</summary>
        public static int RoundingDivideByPOT(int x, int exponent)
        {
            int mask = (int)((1L << exponent) - 1);
            int remainder = x & mask;
            int threshold = (mask >> 1) + (x < 0 ? 1 : 0);
            return (x >> exponent) + (remainder > threshold ? 1 : 0);
        }

        /// <summary>x * multiplier * 2^shift, multiplier a Q0.31 value, shift in [-31, 30].</summary>
        public static int MultiplyByQuantizedMultiplier(int x, int multiplier, int shift)
        {
            int leftShift = shift > 0 ? shift : 0;
            int rightShift = shift > 0 ? 0 : -shift;
            return RoundingDivideByPOT(SaturatingRoundingDoublingHighMul(unchecked(x * (1 << leftShift)), multiplier), rightShift);
        }

        public static int Clamp(int v, int min, int max)
        {
            return v < min ? min : (v > max ? max : v);
        }

        public static int Max(int a, int b)
        {
            return a > b ? a : b;
        }

        public static int Min(int a, int b)
        {
            return a < b ? a : b;
        }

        /// <summary>
        /// round_half_away(x / scale) + zeroPoint saturated to int8; NaN maps to the zero point.
        /// The quotient is a float division as in C#; the rounding is done on its exact double value
        /// (integer part by truncation, exact fraction), which is what MathF.Round(AwayFromZero) computes.
        /// </summary>
        public static sbyte QuantizeS8(float x, float scale, int zeroPoint)
        {
            float t = x / scale;
            int q;
            if (float.IsNaN(t)) q = 0;
            else if (t > 1000f) q = 1000;
            else if (t < -1000f) q = -1000;
            else
            {
                double d = t;
                q = (int)d;
                double frac = d - q;
                if (frac >= 0.5) q++;
                else if (frac <= -0.5) q--;
            }
            q += zeroPoint;
            return (sbyte)Clamp(q, -128, 127);
        }

        public static float DequantizeS8(int q, float scale, int zeroPoint)
        {
            return (q - zeroPoint) * scale;
        }
    }
}
