using System.Buffers.Binary;
using System.Diagnostics;
using EdgeQuant.Runtime;
using EdgeQuant.Runtime.Format;

// Classifies samples with an .eqm model using only the runtime library: what an app on a
// Raspberry Pi does. Input: a float32 .npy [N, ...] in the source model's layout.
if (args.Length < 2)
{
    Console.Error.WriteLine("usage: classify MODEL.eqm SAMPLES.npy [LABELS.npy]");
    return 1;
}

try
{
    var model = Model.LoadFile(args[0]);
    var interp = new Interpreter(model);
    var (data, count) = ReadFloatNpy(args[1]);
    long[]? labels = args.Length > 2 ? ReadInt64Npy(args[2]) : null;
    var io = model.Inputs[0];
    var t = model.Tensors[io.TensorIndex];
    int size = t.ElementCount;
    if (data.Length != (long)count * size)
    {
        Console.Error.WriteLine($"classify: {args[1]} holds {data.Length} values, not a multiple of the model's {size}-value input");
        return 1;
    }
    var physical = new float[size];
    var logits = new float[model.Tensors[model.Outputs[0].TensorIndex].ElementCount];
    string[] names = model.Metadata.TryGetValue("labels", out var l) ? l.Split('\n') : [];
    int correct = 0;
    var sw = Stopwatch.StartNew();
    for (int s = 0; s < count; s++)
    {
        var sample = data.AsSpan(s * size, size);
        if (io.Layout == SourceLayout.Nchw) NchwToNhwc(sample, physical, t.Shape.D3, t.Shape.D1, t.Shape.D2);
        else sample.CopyTo(physical);
        interp.SetInput(physical);
        interp.Invoke();
        interp.GetOutput(logits);
        int best = 0;
        for (int k = 1; k < logits.Length; k++) if (logits[k] > logits[best]) best = k;
        if (labels is not null && labels[s] == best) correct++;
        if (s < 5) Console.WriteLine($"sample {s}: class {(best < names.Length ? names[best] : best.ToString())}");
    }
    sw.Stop();
    Console.WriteLine($"{count} samples in {sw.Elapsed.TotalMilliseconds:F1} ms ({sw.Elapsed.TotalMicroseconds / count:F1} us each), arena {model.ArenaBytes} B");
    if (labels is not null) Console.WriteLine($"top-1 accuracy {100.0 * correct / count:F2}%");
    return 0;
}
catch (Exception e) when (e is InvalidModelException or IOException or InvalidDataException)
{
    Console.Error.WriteLine($"classify: {e.Message}");
    return 1;
}

static void NchwToNhwc(ReadOnlySpan<float> src, Span<float> dst, int c, int h, int w)
{
    for (int ci = 0; ci < c; ci++)
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                dst[(y * w + x) * c + ci] = src[(ci * h + y) * w + x];
}

// A minimal .npy reader (little-endian float32 / int64, C order) so the sample needs only the runtime.
static (byte[] Payload, string Descr, int Count) ReadNpy(string path)
{
    var b = File.ReadAllBytes(path);
    if (b.Length < 10 || b[0] != 0x93 || b[1] != (byte)'N') throw new InvalidDataException($"{path} is not a .npy file");
    int major = b[6];
    int headerLen = major == 1 ? BinaryPrimitives.ReadUInt16LittleEndian(b.AsSpan(8)) : (int)BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(8));
    int start = (major == 1 ? 10 : 12) + headerLen;
    if (start > b.Length) throw new InvalidDataException($"{path}: truncated header");
    string header = System.Text.Encoding.ASCII.GetString(b, major == 1 ? 10 : 12, headerLen);
    if (header.Contains("'fortran_order': True")) throw new InvalidDataException($"{path}: Fortran order is not supported");
    string descr = header.Contains("'<f4'") ? "<f4" : header.Contains("'<i8'") ? "<i8" : throw new InvalidDataException($"{path}: only float32 and int64 are supported");
    int open = header.IndexOf('(') + 1, close = header.IndexOf(')');
    var dims = header[open..close].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
    int count = dims.Length == 0 ? 1 : int.Parse(dims[0]);
    return (b[start..], descr, count);
}

static (float[] Data, int Count) ReadFloatNpy(string path)
{
    var (payload, descr, count) = ReadNpy(path);
    if (descr != "<f4") throw new InvalidDataException($"{path}: samples must be float32");
    var f = new float[payload.Length / 4];
    for (int i = 0; i < f.Length; i++) f[i] = BinaryPrimitives.ReadSingleLittleEndian(payload.AsSpan(4 * i));
    return (f, count);
}

static long[] ReadInt64Npy(string path)
{
    var (payload, descr, _) = ReadNpy(path);
    if (descr != "<i8") throw new InvalidDataException($"{path}: labels must be int64");
    var r = new long[payload.Length / 8];
    for (int i = 0; i < r.Length; i++) r[i] = BinaryPrimitives.ReadInt64LittleEndian(payload.AsSpan(8 * i));
    return r;
}
