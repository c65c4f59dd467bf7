namespace EqProbe
{
    public static class MissingApi
    {
        public static int Sum(System.Span<sbyte> values)
        {
            int s = 0;
            for (int i = 0; i < values.Length; i++) s += values[i];
            return s;
        }
    }
}
