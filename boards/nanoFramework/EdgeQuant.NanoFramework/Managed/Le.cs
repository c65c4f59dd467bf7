namespace EdgeQuant.NanoFramework.Managed
{
    /// <summary>Little-endian reads from byte arrays (the blob format is little-endian; no BinaryPrimitives on nanoFramework).</summary>
    internal static class Le
    {
        public static int I32(byte[] b, int o)
        {
            return b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24);
        }

        public static uint U32(byte[] b, int o)
        {
            return (uint)I32(b, o);
        }

        public static int U16(byte[] b, int o)
        {
            return b[o] | (b[o + 1] << 8);
        }

        /// <summary>IEEE 754 binary32 at <paramref name="o"/>; BitConverter reads the CPU's order, which every supported device shares (little-endian).</summary>
        public static float F32(byte[] b, int o)
        {
            return System.BitConverter.ToSingle(b, o);
        }

        public static void WriteF32(byte[] b, int o, float v)
        {
            byte[] bytes = System.BitConverter.GetBytes(v);
            b[o] = bytes[0];
            b[o + 1] = bytes[1];
            b[o + 2] = bytes[2];
            b[o + 3] = bytes[3];
        }

        public static bool IsFinite(float v)
        {
            return !float.IsNaN(v) && !float.IsInfinity(v);
        }
    }
}
