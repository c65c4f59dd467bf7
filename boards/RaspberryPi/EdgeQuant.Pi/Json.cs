using System.Globalization;
using System.Text;
using EdgeQuant.Boards.Decoding;

namespace EdgeQuant.Pi;

/// <summary>One JSON object per line on stdout, written by hand (no reflection: NativeAOT-clean).</summary>
internal sealed class JsonLines(TextWriter output)
{
    private readonly StringBuilder _sb = new(256);

    private static string F(float v) => float.IsFinite(v) ? v.ToString("0.######", CultureInfo.InvariantCulture) : "null";

    public void Classification(string counter, long index, int cls, float score, long latencyUs, string? label)
    {
        _sb.Clear();
        _sb.Append('{').Append('"').Append(counter).Append("\":").Append(index)
            .Append(",\"class\":").Append(cls)
            .Append(",\"score\":").Append(F(score))
            .Append(",\"latency_us\":").Append(latencyUs);
        if (label is not null) _sb.Append(",\"label\":\"").Append(Escape(label)).Append('"');
        _sb.Append('}');
        output.WriteLine(_sb);
    }

    public void Detections(long frame, ReadOnlySpan<Detection> dets, long latencyUs)
    {
        _sb.Clear();
        _sb.Append("{\"frame\":").Append(frame).Append(",\"detections\":[");
        for (int i = 0; i < dets.Length; i++)
        {
            ref readonly var d = ref dets[i];
            if (i > 0) _sb.Append(',');
            _sb.Append("{\"x0\":").Append(F(d.XMin)).Append(",\"y0\":").Append(F(d.YMin))
                .Append(",\"x1\":").Append(F(d.XMax)).Append(",\"y1\":").Append(F(d.YMax))
                .Append(",\"score\":").Append(F(d.Score)).Append('}');
        }
        _sb.Append("],\"latency_us\":").Append(latencyUs).Append('}');
        output.WriteLine(_sb);
    }

    public void Raw(string line) => output.WriteLine(line);

    private static string Escape(string s)
    {
        var b = new StringBuilder(s.Length);
        foreach (char c in s)
        {
            if (c == '"' || c == '\\') b.Append('\\').Append(c);
            else if (c < ' ') b.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
            else b.Append(c);
        }
        return b.ToString();
    }
}
