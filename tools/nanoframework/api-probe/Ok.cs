namespace EqProbe
{
    public static class Ok
    {
        public static int Sum(sbyte[] values, int offset, int count)
        {
            int s = 0;
            for (int i = offset; i < offset + count; i++) s += values[i];
            return s;
        }
    }
}
