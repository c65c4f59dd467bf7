namespace EdgeQuant.NanoFramework.Managed
{
    /// <summary>CRC-32 (IEEE 802.3, reflected 0xEDB88320, init and final XOR 0xFFFFFFFF), byte at a time.</summary>
    internal static class Crc32
    {
        private static uint[] s_table;

        public static uint Compute(byte[] data, int start, int length)
        {
            uint[] t = s_table;
            if (t == null)
            {
                t = new uint[256];
                for (uint i = 0; i < 256; i++)
                {
                    uint c = i;
                    for (int k = 0; k < 8; k++)
                        c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
                    t[i] = c;
                }
                s_table = t;
            }
            uint crc = 0xFFFFFFFFu;
            int end = start + length;
            for (int i = start; i < end; i++)
                crc = t[(crc ^ data[i]) & 0xFF] ^ (crc >> 8);
            return ~crc;
        }
    }
}
