using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using EdgeQuant.Runtime.Memory;

namespace EdgeQuant.Runtime.Format;

/// <summary>
/// Builds an .eqm blob: tensors, quantization, ops with parameters, constant data, the IO
/// table and metadata. <see cref="Build"/> plans the arena (tensor lifetimes, Reshape aliases,
/// kernel scratch) and writes the bytes with the CRC. Used by the converter and by tests.
/// </summary>
public sealed class ModelWriter
{
    private sealed class Tensor
    {
        public TensorType Type;
        public int[] Dims = [];
        public TensorStorage Storage;
        public int Offset;
        public int Bytes;
        public int Quant;
    }

    private sealed class Op
    {
        public OpType Type;
        public int[] Inputs = [];
        public int[] Outputs = [];
        public byte[] Params = [];
        public int ScratchBytes;
        public int ScratchOffset;
    }

    private readonly List<Tensor> _tensors = new();
    private readonly List<(float[] Scales, int ZeroPoint, int Dim, int Offset)> _quant = new();
    private readonly List<Op> _ops = new();
    private readonly List<(string Name, int Tensor, SourceLayout Layout, bool IsInput)> _io = new();
    private readonly List<(string Key, string Value)> _metadata = new();
    private readonly MemoryStream _const = new();

    /// <summary>Set by <see cref="Build"/>: the arena size and its lower bound.</summary>
    public int ArenaBytes { get; private set; }
    public int ArenaLowerBoundBytes { get; private set; }
    /// <summary>Set by <see cref="Build"/>: each tensor's arena offset (or constant offset).</summary>
    public IReadOnlyList<int> TensorOffsets => _tensors.ConvertAll(t => t.Offset);
    public int TensorCount => _tensors.Count;

    /// <summary>
    /// Alignment of the small constant items that the format only requires 4-byte aligned: quantization scales
    /// (<see cref="AddQuantization"/>) and data added with <see cref="AddSmallConstantData"/>. 16 (the default,
    /// the layout of every int8 blob) or 4 (compressed conversions, where these items are a large share of a
    /// small blob). Tensor data is always 16-byte aligned.
    /// </summary>
    public int SmallDataAlignment { get; init; } = ModelFormat.Alignment;

    /// <summary>Appends bytes to the constant data section at a 16-byte aligned offset and returns that offset.</summary>
    public int AddConstantData(ReadOnlySpan<byte> data) => AddConstantData(data, ModelFormat.Alignment);

    /// <summary>Appends bytes that need only 4-byte alignment (per-channel records), aligned to <see cref="SmallDataAlignment"/>.</summary>
    public int AddSmallConstantData(ReadOnlySpan<byte> data) => AddConstantData(data, SmallDataAlignment);

    private int AddConstantData(ReadOnlySpan<byte> data, int alignment)
    {
        if (alignment is not (4 or ModelFormat.Alignment)) throw new InvalidOperationException($"constant alignment {alignment} must be 4 or {ModelFormat.Alignment}");
        while (_const.Length % alignment != 0) _const.WriteByte(0);
        int offset = checked((int)_const.Length);
        _const.Write(data);
        return offset;
    }

    public int AddConstantData<T>(ReadOnlySpan<T> data) where T : unmanaged => AddConstantData(MemoryMarshal.AsBytes(data));

    /// <summary>Adds a quantization record: per tensor (one scale, dimension -1) or per channel along <paramref name="quantizedDimension"/>.</summary>
    public int AddQuantization(ReadOnlySpan<float> scales, int zeroPoint, int quantizedDimension = -1)
    {
        int off = AddConstantData(MemoryMarshal.AsBytes(scales), SmallDataAlignment);
        _quant.Add((scales.ToArray(), zeroPoint, scales.Length > 1 ? quantizedDimension : -1, off));
        return _quant.Count - 1;
    }

    /// <summary>Adds an arena tensor (activation); its offset is planned by <see cref="Build"/>.</summary>
    public int AddActivation(TensorType type, int[] dims, int quantIndex)
    {
        _tensors.Add(new Tensor { Type = type, Dims = (int[])dims.Clone(), Storage = TensorStorage.Arena, Bytes = Bytes(type, dims), Quant = quantIndex });
        return _tensors.Count - 1;
    }

    /// <summary>Adds a constant tensor whose data is copied into the constant data section.</summary>
    public int AddConstant<T>(TensorType type, int[] dims, ReadOnlySpan<T> data, int quantIndex) where T : unmanaged
    {
        int bytes = Bytes(type, dims);
        if (data.Length * Unsafe.SizeOf<T>() != bytes)
            throw new ArgumentException($"constant of shape [{string.Join(", ", dims)}] needs {bytes} bytes, got {data.Length * Unsafe.SizeOf<T>()}");
        int off = AddConstantData(data);
        _tensors.Add(new Tensor { Type = type, Dims = (int[])dims.Clone(), Storage = TensorStorage.Constant, Offset = off, Bytes = bytes, Quant = quantIndex });
        return _tensors.Count - 1;
    }

    /// <summary>
    /// Adds a constant tensor of an encoded type (Int4, Index4, Index8, SparseInt8: docs/format.md 5.10, 5.11)
    /// from its encoded bytes. The length must match the shape (4-bit types) or be a whole sparse encoding.
    /// </summary>
    public int AddConstantEncoded(TensorType type, int[] dims, ReadOnlySpan<byte> data, int quantIndex)
    {
        var d = new int[4];
        for (int k = 0; k < 4; k++) d[k] = k < dims.Length ? dims[k] : 1;
        long expected = type == TensorType.SparseInt8 ? data.Length : TensorInfo.ByteLengthOf(type, new Shape4(d[0], d[1], d[2], d[3]));
        if (!CompressedWeights.IsCompressed(type) || expected != data.Length)
            throw new ArgumentException($"an encoded {type} constant of shape [{string.Join(", ", dims)}] needs {expected} bytes, got {data.Length}");
        int off = AddConstantData(data);
        _tensors.Add(new Tensor { Type = type, Dims = (int[])dims.Clone(), Storage = TensorStorage.Constant, Offset = off, Bytes = data.Length, Quant = quantIndex });
        return _tensors.Count - 1;
    }

    /// <summary>Adds an op with its parameter record. Scratch bytes are planned into the arena for the op's duration.</summary>
    public int AddOp<TParams>(OpType type, int[] inputs, int[] outputs, in TParams parameters, int scratchBytes = 0) where TParams : unmanaged
    {
        var p = new byte[Unsafe.SizeOf<TParams>()];
        MemoryMarshal.Write(p, in parameters);
        _ops.Add(new Op { Type = type, Inputs = (int[])inputs.Clone(), Outputs = (int[])outputs.Clone(), Params = p, ScratchBytes = scratchBytes });
        return _ops.Count - 1;
    }

    /// <summary>Adds an op without parameters (Reshape).</summary>
    public int AddOp(OpType type, int[] inputs, int[] outputs)
    {
        _ops.Add(new Op { Type = type, Inputs = (int[])inputs.Clone(), Outputs = (int[])outputs.Clone() });
        return _ops.Count - 1;
    }

    public void AddInput(string name, int tensor, SourceLayout layout = SourceLayout.AsIs) => _io.Add((name, tensor, layout, true));
    public void AddOutput(string name, int tensor, SourceLayout layout = SourceLayout.AsIs) => _io.Add((name, tensor, layout, false));
    public void SetMetadata(string key, string value) => _metadata.Add((key, value));

    /// <summary>Plans the arena and serialises the blob.</summary>
    /// <summary>The smallest minor version whose readers know every op and element type of this model.</summary>
    public ushort MinorVersionNeeded()
    {
        ushort minor = 0;
        foreach (var o in _ops) minor = System.Math.Max(minor, ModelFormat.MinorVersionNeeded(o.Type));
        foreach (var t in _tensors) minor = System.Math.Max(minor, ModelFormat.MinorVersionNeeded(t.Type));
        return minor;
    }

    public byte[] Build()
    {
        PlanArena();

        var strings = new MemoryStream();
        (int, int) Str(string s)
        {
            var bytes = Encoding.UTF8.GetBytes(s);
            int off = (int)strings.Length;
            strings.Write(bytes);
            return (off, bytes.Length);
        }

        var tensors = new byte[_tensors.Count * RecordSizes.Tensor];
        for (int i = 0; i < _tensors.Count; i++)
        {
            var t = _tensors[i];
            var r = tensors.AsSpan(i * RecordSizes.Tensor, RecordSizes.Tensor);
            r[0] = (byte)t.Type;
            r[1] = (byte)t.Dims.Length;
            r[2] = (byte)t.Storage;
            for (int k = 0; k < 4; k++)
                BinaryPrimitives.WriteInt32LittleEndian(r.Slice(4 + 4 * k), k < t.Dims.Length ? t.Dims[k] : 1);
            BinaryPrimitives.WriteInt32LittleEndian(r.Slice(20), t.Offset);
            BinaryPrimitives.WriteInt32LittleEndian(r.Slice(24), t.Bytes);
            BinaryPrimitives.WriteInt32LittleEndian(r.Slice(28), t.Quant);
        }

        var quant = new byte[_quant.Count * RecordSizes.Quantization];
        for (int i = 0; i < _quant.Count; i++)
        {
            var q = _quant[i];
            var r = quant.AsSpan(i * RecordSizes.Quantization);
            BinaryPrimitives.WriteInt32LittleEndian(r, q.Scales.Length);
            BinaryPrimitives.WriteInt32LittleEndian(r.Slice(4), q.ZeroPoint);
            BinaryPrimitives.WriteInt32LittleEndian(r.Slice(8), q.Offset);
            BinaryPrimitives.WriteInt32LittleEndian(r.Slice(12), q.Dim);
        }

        var opParams = new MemoryStream();
        var ops = new byte[_ops.Count * RecordSizes.Op];
        for (int i = 0; i < _ops.Count; i++)
        {
            var o = _ops[i];
            var r = ops.AsSpan(i * RecordSizes.Op, RecordSizes.Op);
            BinaryPrimitives.WriteUInt16LittleEndian(r, (ushort)o.Type);
            r[2] = (byte)o.Inputs.Length;
            r[3] = (byte)o.Outputs.Length;
            for (int k = 0; k < 4; k++) BinaryPrimitives.WriteInt32LittleEndian(r.Slice(4 + 4 * k), k < o.Inputs.Length ? o.Inputs[k] : -1);
            for (int k = 0; k < 2; k++) BinaryPrimitives.WriteInt32LittleEndian(r.Slice(20 + 4 * k), k < o.Outputs.Length ? o.Outputs[k] : -1);
            int po = (int)opParams.Length;
            opParams.Write(o.Params);
            BinaryPrimitives.WriteInt32LittleEndian(r.Slice(28), o.Params.Length == 0 ? 0 : po);
            BinaryPrimitives.WriteInt32LittleEndian(r.Slice(32), o.Params.Length);
            BinaryPrimitives.WriteInt32LittleEndian(r.Slice(36), o.ScratchBytes > 0 ? o.ScratchOffset : 0);
            BinaryPrimitives.WriteInt32LittleEndian(r.Slice(40), o.ScratchBytes);
        }

        var plan = new byte[RecordSizes.MemoryPlan];
        BinaryPrimitives.WriteInt32LittleEndian(plan, ArenaBytes);
        BinaryPrimitives.WriteInt32LittleEndian(plan.AsSpan(4), ArenaLowerBoundBytes);
        int scratchTotal = 0;
        foreach (var o in _ops) scratchTotal = System.Math.Max(scratchTotal, o.ScratchBytes);
        BinaryPrimitives.WriteInt32LittleEndian(plan.AsSpan(8), scratchTotal);

        var io = new byte[_io.Count * RecordSizes.Io];
        for (int i = 0; i < _io.Count; i++)
        {
            var e = _io[i];
            var r = io.AsSpan(i * RecordSizes.Io);
            var (so, sl) = Str(e.Name);
            BinaryPrimitives.WriteInt32LittleEndian(r, e.Tensor);
            BinaryPrimitives.WriteInt32LittleEndian(r.Slice(4), so);
            BinaryPrimitives.WriteInt32LittleEndian(r.Slice(8), sl);
            r[12] = e.IsInput ? (byte)0 : (byte)1;
            r[13] = (byte)e.Layout;
        }

        var meta = new byte[_metadata.Count * RecordSizes.Metadata];
        for (int i = 0; i < _metadata.Count; i++)
        {
            var (ko, kl) = Str(_metadata[i].Key);
            var (vo, vl) = Str(_metadata[i].Value);
            var r = meta.AsSpan(i * RecordSizes.Metadata);
            BinaryPrimitives.WriteInt32LittleEndian(r, ko);
            BinaryPrimitives.WriteInt32LittleEndian(r.Slice(4), kl);
            BinaryPrimitives.WriteInt32LittleEndian(r.Slice(8), vo);
            BinaryPrimitives.WriteInt32LittleEndian(r.Slice(12), vl);
        }

        var sections = new List<(SectionKind Kind, byte[] Data, int Count)>
        {
            (SectionKind.Tensors, tensors, _tensors.Count),
            (SectionKind.Quantization, quant, _quant.Count),
            (SectionKind.Ops, ops, _ops.Count),
            (SectionKind.OpParams, opParams.ToArray(), _ops.Count),
            (SectionKind.ConstantData, _const.ToArray(), 0),
            (SectionKind.MemoryPlan, plan, 1),
            (SectionKind.IO, io, _io.Count),
            (SectionKind.Strings, strings.ToArray(), 0),
            (SectionKind.Metadata, meta, _metadata.Count),
        };

        int tableOffset = ModelFormat.HeaderSizeInBytes;
        int pos = ModelFormat.AlignUp(tableOffset + sections.Count * ModelFormat.SectionEntrySizeInBytes);
        var offsets = new int[sections.Count];
        for (int s = 0; s < sections.Count; s++)
        {
            offsets[s] = pos;
            pos = ModelFormat.AlignUp(pos + sections[s].Data.Length);
        }
        var blob = new byte[pos];
        var h = blob.AsSpan();
        BinaryPrimitives.WriteUInt32LittleEndian(h, ModelFormat.Magic);
        BinaryPrimitives.WriteUInt16LittleEndian(h.Slice(4), ModelFormat.VersionMajor);
        BinaryPrimitives.WriteUInt16LittleEndian(h.Slice(6), MinorVersionNeeded());
        BinaryPrimitives.WriteInt32LittleEndian(h.Slice(8), blob.Length);
        BinaryPrimitives.WriteInt32LittleEndian(h.Slice(16), sections.Count);
        BinaryPrimitives.WriteInt32LittleEndian(h.Slice(20), tableOffset);
        for (int s = 0; s < sections.Count; s++)
        {
            var e = h.Slice(tableOffset + s * ModelFormat.SectionEntrySizeInBytes);
            BinaryPrimitives.WriteUInt32LittleEndian(e, (uint)sections[s].Kind);
            BinaryPrimitives.WriteInt32LittleEndian(e.Slice(4), offsets[s]);
            BinaryPrimitives.WriteInt32LittleEndian(e.Slice(8), sections[s].Data.Length);
            BinaryPrimitives.WriteInt32LittleEndian(e.Slice(12), sections[s].Count);
            sections[s].Data.CopyTo(blob, offsets[s]);
        }
        BinaryPrimitives.WriteUInt32LittleEndian(h.Slice(12), Crc32.Compute(blob.AsSpan(ModelFormat.CrcStart)));
        return blob;
    }

    /// <summary>Computes lifetimes (Reshape outputs alias their input), places buffers and scratch.</summary>
    private void PlanArena()
    {
        int n = _tensors.Count;
        var alias = new int[n];
        var first = new int[n];
        var last = new int[n];
        for (int t = 0; t < n; t++) { alias[t] = t; first[t] = int.MaxValue; last[t] = int.MinValue; }
        int Root(int t) { while (alias[t] != t) t = alias[t]; return t; }
        void Touch(int t, int step)
        {
            int r = Root(t);
            first[r] = System.Math.Min(first[r], step);
            last[r] = System.Math.Max(last[r], step);
        }
        foreach (var e in _io)
            if (e.IsInput) Touch(e.Tensor, -1);
        for (int i = 0; i < _ops.Count; i++)
        {
            var o = _ops[i];
            if (o.Type == OpType.Reshape && _tensors[o.Inputs[0]].Storage == TensorStorage.Arena)
                alias[o.Outputs[0]] = Root(o.Inputs[0]);
            foreach (int t in o.Inputs) if (_tensors[t].Storage == TensorStorage.Arena) Touch(t, i);
            foreach (int t in o.Outputs) Touch(t, i);
        }
        foreach (var e in _io)
            if (!e.IsInput) Touch(e.Tensor, _ops.Count);

        var buffers = new List<PlanBuffer>();
        var owner = new List<int>(); // tensor index, or -(op index + 1) for scratch
        for (int t = 0; t < n; t++)
        {
            if (_tensors[t].Storage != TensorStorage.Arena || alias[t] != t) continue;
            // A tensor nothing reads or writes still needs a place inside the arena; it overlaps no live buffer.
            bool unused = first[t] == int.MaxValue;
            buffers.Add(new PlanBuffer(_tensors[t].Bytes, unused ? -2 : first[t], unused ? -2 : last[t]));
            owner.Add(t);
        }
        for (int i = 0; i < _ops.Count; i++)
        {
            if (_ops[i].ScratchBytes <= 0) continue;
            buffers.Add(new PlanBuffer(_ops[i].ScratchBytes, i, i));
            owner.Add(-(i + 1));
        }
        var plan = ArenaPlanner.Plan(buffers);
        for (int k = 0; k < buffers.Count; k++)
        {
            if (owner[k] >= 0) _tensors[owner[k]].Offset = plan.Offsets[k];
            else _ops[-owner[k] - 1].ScratchOffset = plan.Offsets[k];
        }
        for (int t = 0; t < n; t++)
            if (_tensors[t].Storage == TensorStorage.Arena && alias[t] != t)
                _tensors[t].Offset = _tensors[Root(t)].Offset;
        ArenaBytes = plan.ArenaBytes;
        ArenaLowerBoundBytes = plan.LowerBoundBytes;
    }

    private static int Bytes(TensorType type, int[] dims)
    {
        long n = 1;
        foreach (int d in dims) n *= d;
        return checked((int)(n * TensorInfo.ElementSize(type)));
    }
}
