using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using EdgeQuant.Runtime.Format;

namespace EdgeQuant.Runtime;

/// <summary>Limits applied while loading a blob, so a hostile blob cannot ask for huge allocations.</summary>
public sealed class ModelLoadOptions
{
    /// <summary>Largest arena a model may request, in bytes. Default 256 MiB.</summary>
    public int MaxArenaBytes { get; init; } = 256 << 20;
    /// <summary>Skip the CRC check (for blobs patched in place on purpose). Default false.</summary>
    public bool SkipCrc { get; init; }
}

/// <summary>
/// A validated, zero-copy view over an .eqm blob. Constant data (weights, biases, tables) is
/// read in place from the blob's memory; nothing is copied. Loading validates everything a
/// kernel relies on, so the interpreter never checks again. Several interpreters may share
/// one model.
/// </summary>
public sealed partial class Model
{
    private readonly ReadOnlyMemory<byte> _blob;
    private readonly TensorInfo[] _tensors;
    private readonly QuantInfo[] _quant;
    private readonly OpInfo[] _ops;
    private readonly ModelIo[] _inputs;
    private readonly ModelIo[] _outputs;
    private readonly Dictionary<string, string> _metadata;
    private readonly int _constOffset;
    private readonly int _constBytes;

    public ushort VersionMajor { get; }
    public ushort VersionMinor { get; }
    /// <summary>Bytes of working memory one interpreter needs (activations and kernel scratch).</summary>
    public int ArenaBytes { get; }
    /// <summary>The largest sum of simultaneously live tensor bytes: no plan can use less.</summary>
    public int ArenaLowerBoundBytes { get; }
    public int BlobBytes => _blob.Length;
    public IReadOnlyList<TensorInfo> Tensors => _tensors;
    public IReadOnlyList<QuantInfo> Quantization => _quant;
    public IReadOnlyList<OpInfo> Ops => _ops;
    public IReadOnlyList<ModelIo> Inputs => _inputs;
    public IReadOnlyList<ModelIo> Outputs => _outputs;
    public IReadOnlyDictionary<string, string> Metadata => _metadata;

    /// <summary>
    /// The camera normalization stored by <c>edgequant convert --pixels</c> (metadata key
    /// <see cref="PixelNormalization.MetadataKey"/>), or null when the blob has none.
    /// </summary>
    /// <exception cref="InvalidModelException">The metadata value is malformed.</exception>
    public PixelNormalization? PixelNormalization
    {
        get
        {
            if (!_metadata.TryGetValue(PixelNormalization.MetadataKey, out var v)) return null;
            try { return PixelNormalization.ParseMetadataValue(v); }
            catch (FormatException e) { throw new InvalidModelException($"section Metadata: {e.Message}", e); }
        }
    }

    internal ReadOnlyMemory<byte> Blob => _blob;
    internal ReadOnlySpan<byte> ConstantData => _blob.Span.Slice(_constOffset, _constBytes);
    internal int ConstantDataOffset => _constOffset;

    /// <summary>Loads and validates a blob held in memory. The model keeps a reference to <paramref name="blob"/>; do not modify it afterwards.</summary>
    /// <exception cref="InvalidModelException">The blob is malformed; the message says what and where.</exception>
    public static Model Load(ReadOnlyMemory<byte> blob, ModelLoadOptions? options = null) => new(blob, options ?? new ModelLoadOptions());

    /// <summary>Reads a file and loads it.</summary>
    public static Model LoadFile(string path, ModelLoadOptions? options = null) => Load(File.ReadAllBytes(path), options);

    /// <summary>Scale of channel <paramref name="channel"/> of a tensor's quantization.</summary>
    public float GetScale(int quantIndex, int channel = 0)
    {
        var q = _quant[quantIndex];
        return BinaryPrimitives.ReadSingleLittleEndian(ConstantData.Slice(q.ScalesOffset + 4 * channel, 4));
    }

    /// <summary>The bytes of a constant tensor, in place.</summary>
    public ReadOnlySpan<byte> GetConstantBytes(int tensorIndex)
    {
        var t = _tensors[tensorIndex];
        if (t.Storage != TensorStorage.Constant) throw new InvalidOperationException($"tensor {tensorIndex} is not constant");
        return ConstantData.Slice(t.Offset, t.ByteLength);
    }

    private Model(ReadOnlyMemory<byte> blob, ModelLoadOptions options)
    {
        if (!BitConverter.IsLittleEndian)
            throw new PlatformNotSupportedException("EdgeQuant blobs are read in place and need a little-endian CPU.");
        _blob = blob;
        ReadOnlySpan<byte> b = blob.Span;

        // Header.
        if (b.Length < ModelFormat.HeaderSizeInBytes)
            throw Bad($"blob is {b.Length} bytes, shorter than the {ModelFormat.HeaderSizeInBytes}-byte header");
        uint magic = U32(b, 0);
        if (magic != ModelFormat.Magic)
            throw Bad($"header, byte 0: magic is 0x{magic:X8}, expected 0x{ModelFormat.Magic:X8} (\"EQMB\"); not an EdgeQuant model");
        VersionMajor = BinaryPrimitives.ReadUInt16LittleEndian(b.Slice(4));
        VersionMinor = BinaryPrimitives.ReadUInt16LittleEndian(b.Slice(6));
        if (VersionMajor != ModelFormat.VersionMajor)
            throw Bad($"header, byte 4: format version {VersionMajor}.{VersionMinor} is not supported; this runtime reads {ModelFormat.VersionMajor}.x");
        uint declared = U32(b, 8);
        if (declared != (uint)b.Length)
            throw Bad($"header, byte 8: blob size field says {declared} bytes but {b.Length} bytes were given (truncated or padded file)");
        if (!options.SkipCrc)
        {
            uint crc = U32(b, 12);
            uint actual = Crc32.Compute(b.Slice(ModelFormat.CrcStart));
            if (crc != actual)
                throw Bad($"header, byte 12: CRC32 mismatch (stored 0x{crc:X8}, computed 0x{actual:X8}); the blob is corrupt");
        }
        uint sectionCount = U32(b, 16);
        uint tableOffset = U32(b, 20);
        if (sectionCount == 0 || sectionCount > ModelFormat.MaxSections)
            throw Bad($"header, byte 16: section count {sectionCount} is outside [1, {ModelFormat.MaxSections}]");
        if (tableOffset < ModelFormat.HeaderSizeInBytes || (long)tableOffset + sectionCount * ModelFormat.SectionEntrySizeInBytes > b.Length)
            throw Bad($"header, byte 20: section table at {tableOffset} with {sectionCount} entries does not fit in the {b.Length}-byte blob");

        // Section table.
        var secOff = new int[10];
        var secLen = new int[10];
        var secCount = new int[10];
        Array.Fill(secOff, -1);
        long tableEnd = tableOffset + sectionCount * ModelFormat.SectionEntrySizeInBytes;
        var ranges = new List<(long Start, long End, uint Kind)>();
        for (int s = 0; s < sectionCount; s++)
        {
            int e = (int)tableOffset + s * ModelFormat.SectionEntrySizeInBytes;
            uint kind = U32(b, e), off = U32(b, e + 4), len = U32(b, e + 8), cnt = U32(b, e + 12);
            string where = $"section table entry {s} (byte {e})";
            if (off % ModelFormat.Alignment != 0)
                throw Bad($"{where}: section kind {kind} offset {off} is not {ModelFormat.Alignment}-byte aligned");
            if (off < tableEnd || (long)off + len > b.Length)
                throw Bad($"{where}: section kind {kind} range [{off}, {(long)off + len}) is outside the blob's data area [{tableEnd}, {b.Length})");
            foreach (var r in ranges)
                if (off < r.End && r.Start < (long)off + len)
                    throw Bad($"{where}: section kind {kind} overlaps section kind {r.Kind}");
            ranges.Add((off, (long)off + len, kind));
            if (kind == 0 || kind > 9)
                continue; // Unknown kinds from a newer minor version are ignored.
            if (secOff[(int)kind] >= 0)
                throw Bad($"{where}: section kind {(SectionKind)kind} appears twice");
            secOff[(int)kind] = (int)off;
            secLen[(int)kind] = (int)len;
            secCount[(int)kind] = (int)System.Math.Min(cnt, int.MaxValue);
        }

        ReadOnlySpan<byte> Section(SectionKind k, int recordSize, bool required, out int count)
        {
            int i = (int)k;
            if (secOff[i] < 0)
            {
                if (required) throw Bad($"section {k} is missing");
                count = 0;
                return default;
            }
            count = secCount[i];
            if (recordSize > 0 && (long)count * recordSize != secLen[i])
                throw Bad($"section {k} at byte {secOff[i]}: {count} records of {recordSize} bytes need {(long)count * recordSize} bytes, the section has {secLen[i]}");
            return _blob.Span.Slice(secOff[i], secLen[i]);
        }

        int stringsLen = Section(SectionKind.Strings, 0, false, out _).Length;
        int stringsBase = secOff[(int)SectionKind.Strings];
        var constant = Section(SectionKind.ConstantData, 0, true, out _);
        _constOffset = secOff[(int)SectionKind.ConstantData];
        _constBytes = constant.Length;
        var opParams = Section(SectionKind.OpParams, 0, false, out _);
        int opParamsBase = secOff[(int)SectionKind.OpParams];

        // Memory plan.
        var plan = Section(SectionKind.MemoryPlan, RecordSizes.MemoryPlan, true, out int planCount);
        if (planCount != 1) throw Bad($"section MemoryPlan at byte {secOff[(int)SectionKind.MemoryPlan]}: expected 1 record, found {planCount}");
        uint arena = U32(plan, 0), lower = U32(plan, 4);
        if (arena > (uint)options.MaxArenaBytes)
            throw Bad($"section MemoryPlan: arena of {arena} bytes exceeds the limit of {options.MaxArenaBytes} bytes (ModelLoadOptions.MaxArenaBytes)");
        if (lower > arena)
            throw Bad($"section MemoryPlan: lower bound {lower} exceeds the arena size {arena}");
        ArenaBytes = (int)arena;
        ArenaLowerBoundBytes = (int)lower;

        // Quantization.
        var qsec = Section(SectionKind.Quantization, RecordSizes.Quantization, false, out int qCount);
        _quant = new QuantInfo[qCount];
        for (int i = 0; i < qCount; i++)
        {
            var r = qsec.Slice(i * RecordSizes.Quantization);
            string where = $"section Quantization, record {i} (byte {secOff[(int)SectionKind.Quantization] + i * RecordSizes.Quantization})";
            uint ch = U32(r, 0);
            int zp = I32(r, 4);
            uint so = U32(r, 8);
            int qd = I32(r, 12);
            if (ch == 0 || ch > 65536) throw Bad($"{where}: channel count {ch} is outside [1, 65536]");
            if (zp < -128 || zp > 127) throw Bad($"{where}: zero point {zp} is outside the int8 range");
            if (so % 4 != 0 || (long)so + 4L * ch > constant.Length)
                throw Bad($"{where}: scales at constant offset {so} (x{ch}) are misaligned or outside the {constant.Length}-byte constant data");
            if (qd < -1 || qd > 3 || (ch > 1 && qd < 0)) throw Bad($"{where}: quantized dimension {qd} is invalid for {ch} channels");
            for (int c = 0; c < ch; c++)
            {
                float s = BinaryPrimitives.ReadSingleLittleEndian(constant.Slice((int)so + 4 * c));
                if (!(s > 0) || !float.IsFinite(s)) throw Bad($"{where}: scale {c} is {s}; scales must be positive and finite");
            }
            _quant[i] = new QuantInfo((int)ch, zp, (int)so, qd);
        }

        // Tensors.
        var tsec = Section(SectionKind.Tensors, RecordSizes.Tensor, true, out int tCount);
        if (tCount > ModelFormat.MaxTensors) throw Bad($"section Tensors: {tCount} tensors exceed the limit of {ModelFormat.MaxTensors}");
        _tensors = new TensorInfo[tCount];
        Span<int> d = stackalloc int[4];
        for (int i = 0; i < tCount; i++)
        {
            var r = tsec.Slice(i * RecordSizes.Tensor);
            string where = $"section Tensors, record {i} (byte {secOff[(int)SectionKind.Tensors] + i * RecordSizes.Tensor})";
            var type = (TensorType)r[0];
            int rank = r[1];
            var storage = (TensorStorage)r[2];
            if (!TensorInfo.IsKnown(type)) throw Bad($"{where}: unknown element type {r[0]}");
            if (rank < 1 || rank > 4) throw Bad($"{where}: rank {rank} is outside [1, 4]");
            if (storage != TensorStorage.Arena && storage != TensorStorage.Constant) throw Bad($"{where}: unknown storage {r[2]}");
            long elems = 1;
            for (int k = 0; k < 4; k++)
            {
                d[k] = I32(r, 4 + 4 * k);
                if (k >= rank && d[k] != 1) throw Bad($"{where}: unused dimension {k} is {d[k]}, must be 1");
                if (d[k] < 1 || d[k] > (1 << 24)) throw Bad($"{where}: dimension {k} is {d[k]}, outside [1, 2^24]");
                elems *= d[k];
                if (elems > int.MaxValue / 4) throw Bad($"{where}: element count overflows");
            }
            uint off = U32(r, 20), len = U32(r, 24);
            int qi = I32(r, 28);
            long expected = TensorInfo.ByteLengthOf(type, new Shape4(d[0], d[1], d[2], d[3]));
            if (type == TensorType.SparseInt8) expected = len; // checked against its content below
            if (len != expected) throw Bad($"{where}: byte length {len} does not match {elems} elements of {type} ({expected} bytes)");
            if (Format.CompressedWeights.IsCompressed(type) && storage != TensorStorage.Constant) throw Bad($"{where}: {type} tensors must be constant");
            if (off % ModelFormat.Alignment != 0) throw Bad($"{where}: data offset {off} is not {ModelFormat.Alignment}-byte aligned");
            long limit = storage == TensorStorage.Constant ? constant.Length : ArenaBytes;
            if ((long)off + len > limit)
                throw Bad($"{where}: data [{off}, {(long)off + len}) is outside the {(storage == TensorStorage.Constant ? "constant data" : "arena")} of {limit} bytes");
            if (type == TensorType.SparseInt8) Format.CompressedWeights.ValidateSparse(constant.Slice((int)off, (int)len), new Shape4(d[0], d[1], d[2], d[3]), where);
            if (qi < -1 || qi >= qCount) throw Bad($"{where}: quantization index {qi} is outside [-1, {qCount})");
            if (type == TensorType.Int8 && qi < 0) throw Bad($"{where}: int8 tensor has no quantization");
            if (type == TensorType.Int16 && (qi < 0 || _quant[qi].ZeroPoint != 0)) throw Bad($"{where}: int16 tensor needs a quantization record with zero point 0 (symmetric 16-bit)");
            if (type == TensorType.Int64 && storage != TensorStorage.Constant) throw Bad($"{where}: int64 tensors (16x8 biases) must be constant");
            if (qi >= 0)
            {
                var q = _quant[qi];
                if (q.ChannelCount > 1 && (q.QuantizedDimension >= rank || d[q.QuantizedDimension] != q.ChannelCount))
                    throw Bad($"{where}: per-channel quantization with {q.ChannelCount} channels on dimension {q.QuantizedDimension} does not match the shape");
            }
            _tensors[i] = new TensorInfo(type, rank, new Shape4(d[0], d[1], d[2], d[3]), storage, (int)off, (int)len, qi);
        }

        // Strings, IO and metadata.
        string Str(uint off, uint len, string where)
        {
            if ((long)off + len > stringsLen) throw Bad($"{where}: string [{off}, {(long)off + len}) is outside the {stringsLen}-byte Strings section");
            if (len > 1 << 20) throw Bad($"{where}: string of {len} bytes is too long");
            if (len == 0) return "";
            return Encoding.UTF8.GetString(_blob.Span.Slice(stringsBase + (int)off, (int)len));
        }

        var iosec = Section(SectionKind.IO, RecordSizes.Io, true, out int ioCount);
        var ins = new List<ModelIo>();
        var outs = new List<ModelIo>();
        for (int i = 0; i < ioCount; i++)
        {
            var r = iosec.Slice(i * RecordSizes.Io);
            string where = $"section IO, record {i} (byte {secOff[(int)SectionKind.IO] + i * RecordSizes.Io})";
            int ti = I32(r, 0);
            string name = Str(U32(r, 4), U32(r, 8), where);
            byte dir = r[12];
            var layout = (SourceLayout)r[13];
            if (ti < 0 || ti >= tCount) throw Bad($"{where}: tensor index {ti} is outside [0, {tCount})");
            if (_tensors[ti].Storage != TensorStorage.Arena) throw Bad($"{where}: input/output tensor {ti} is not in the arena");
            if (dir > 1) throw Bad($"{where}: direction {dir} is neither 0 (input) nor 1 (output)");
            if (layout != SourceLayout.AsIs && layout != SourceLayout.Nchw) throw Bad($"{where}: unknown source layout {r[13]}");
            if (layout == SourceLayout.Nchw && _tensors[ti].Rank != 4) throw Bad($"{where}: NCHW source layout on a rank-{_tensors[ti].Rank} tensor");
            (dir == 0 ? ins : outs).Add(new ModelIo(name, ti, layout));
        }
        if (ins.Count == 0 || outs.Count == 0) throw Bad("section IO: a model needs at least one input and one output");
        _inputs = ins.ToArray();
        _outputs = outs.ToArray();

        var msec = Section(SectionKind.Metadata, RecordSizes.Metadata, false, out int mCount);
        _metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        for (int i = 0; i < mCount; i++)
        {
            var r = msec.Slice(i * RecordSizes.Metadata);
            string where = $"section Metadata, record {i}";
            _metadata[Str(U32(r, 0), U32(r, 4), where)] = Str(U32(r, 8), U32(r, 12), where);
        }

        // Ops.
        var osec = Section(SectionKind.Ops, RecordSizes.Op, true, out int oCount);
        if (oCount == 0 || oCount > ModelFormat.MaxOps) throw Bad($"section Ops: {oCount} ops is outside [1, {ModelFormat.MaxOps}]");
        _ops = new OpInfo[oCount];
        Span<int> io = stackalloc int[6];
        for (int i = 0; i < oCount; i++)
        {
            var r = osec.Slice(i * RecordSizes.Op);
            string where = $"section Ops, record {i} (byte {secOff[(int)SectionKind.Ops] + i * RecordSizes.Op})";
            var type = (OpType)BinaryPrimitives.ReadUInt16LittleEndian(r);
            int nIn = r[2], nOut = r[3];
            if (nIn > ModelFormat.MaxOpInputs || nOut < 1 || nOut > ModelFormat.MaxOpOutputs)
                throw Bad($"{where}: {nIn} inputs / {nOut} outputs exceed the record's capacity");
            for (int k = 0; k < 6; k++)
            {
                io[k] = I32(r, 4 + 4 * k);
                bool used = k < 4 ? k < nIn : k - 4 < nOut;
                if (used && (io[k] < 0 || io[k] >= tCount)) throw Bad($"{where}: tensor index {io[k]} in slot {k} is outside [0, {tCount})");
                if (!used && io[k] != -1) throw Bad($"{where}: unused slot {k} holds {io[k]}, must be -1");
            }
            uint po = U32(r, 28), pl = U32(r, 32), so = U32(r, 36), sl = U32(r, 40);
            if (po % 4 != 0 || (long)po + pl > opParams.Length)
                throw Bad($"{where}: parameters [{po}, {(long)po + pl}) are misaligned or outside the {opParams.Length}-byte OpParams section");
            if ((long)so + sl > ArenaBytes || (sl > 0 && so % ModelFormat.Alignment != 0))
                throw Bad($"{where}: scratch [{so}, {(long)so + sl}) is misaligned or outside the {ArenaBytes}-byte arena");
            _ops[i] = new OpInfo(type, nIn, nOut, io[0], io[1], io[2], io[3], io[4], io[5],
                pl == 0 ? 0 : opParamsBase + (int)po, (int)pl, (int)so, (int)sl);
            OpValidator.Validate(this, i, where);
        }

        ValidateDataflowAndPlan();
    }

    private Kernels.Simd.PackedFilter?[]? _prepared;

    /// <summary>
    /// The fast paths' per-op data (packed filters, folded biases; null for other ops), built on
    /// first use and shared read-only by every interpreter of this model, on any thread.
    /// </summary>
    internal Kernels.Simd.PackedFilter?[] PreparedFilters()
    {
        var prepared = Volatile.Read(ref _prepared);
        if (prepared is not null) return prepared;
        prepared = new Kernels.Simd.PackedFilter?[_ops.Length];
        for (int i = 0; i < _ops.Length; i++)
        {
            var op = _ops[i];
            switch (op.Type)
            {
                case OpType.Conv2D:
                    prepared[i] = Kernels.Conv2D.Prepare(ReadParams<Conv2DParams>(op), FilterS8(op), _tensors[op.Input1].Shape, BiasI32(op));
                    break;
                case OpType.DepthwiseConv2D:
                    prepared[i] = Kernels.DepthwiseConv2D.Prepare(ReadParams<Conv2DParams>(op), FilterS8(op), _tensors[op.Input1].Shape, BiasI32(op));
                    break;
                case OpType.FullyConnected:
                    var fT = _tensors[op.Input1];
                    prepared[i] = Kernels.FullyConnected.Prepare(ReadParams<FullyConnectedParams>(op), FilterS8(op), fT.Shape.D1, fT.Shape.D0, BiasI32(op));
                    break;
            }
        }
        return Interlocked.CompareExchange(ref _prepared, prepared, null) ?? prepared;
    }

    private sbyte[]?[]? _addTables;

    /// <summary>
    /// Per op, the Add/Sub lookup table of the fast path (<see cref="Kernels.Elementwise.PrepareAddTable"/>; null for
    /// other ops and where it does not apply), built on first use and shared read-only like <see cref="PreparedFilters"/>.
    /// </summary>
    internal sbyte[]?[] PreparedAddTables()
    {
        var prepared = Volatile.Read(ref _addTables);
        if (prepared is not null) return prepared;
        prepared = new sbyte[]?[_ops.Length];
        for (int i = 0; i < _ops.Length; i++)
        {
            var op = _ops[i];
            // Not where the AVX-512 arithmetic or the float32 form applies (faster than the table's gather, and no 64 KB per op).
            if ((op.Type == OpType.Add || op.Type == OpType.Sub) && _tensors[op.Output0].Type == TensorType.Int8 && PreparedAddRequantizations()[i] is null
                && PreparedAddAffines()[i] is null)
                prepared[i] = Kernels.Elementwise.PrepareAddTable(ReadParams<ElementwiseParams>(op), op.Type == OpType.Sub,
                    _tensors[op.Input0].Shape, _tensors[op.Input1].Shape, _tensors[op.Output0].Shape);
        }
        return Interlocked.CompareExchange(ref _addTables, prepared, null) ?? prepared;
    }

    private Kernels.AddAffine?[]? _addAffines;

    /// <summary>
    /// Per op, the float32 form of an Add/Sub (<see cref="Kernels.Elementwise.PrepareAddAffine"/>; null for other ops and
    /// where the form does not give the reference's bytes), built on first use and shared read-only like
    /// <see cref="PreparedAddTables"/>. It runs first wherever it is prepared: on Zen 5 fashion_resnet's 14x14x28 Add
    /// takes 0.37 us in its 512-bit steps against 1.07 for the AVX-512 arithmetic with VBMI stage lookups.
    /// </summary>
    internal Kernels.AddAffine?[] PreparedAddAffines()
    {
        var prepared = Volatile.Read(ref _addAffines);
        if (prepared is not null) return prepared;
        prepared = new Kernels.AddAffine?[_ops.Length];
        for (int i = 0; i < _ops.Length; i++)
        {
            var op = _ops[i];
            if ((op.Type == OpType.Add || op.Type == OpType.Sub) && _tensors[op.Output0].Type == TensorType.Int8)
                prepared[i] = Kernels.Elementwise.PrepareAddAffine(ReadParams<ElementwiseParams>(op), op.Type == OpType.Sub,
                    _tensors[op.Input0].Shape, _tensors[op.Input1].Shape, _tensors[op.Output0].Shape);
        }
        return Interlocked.CompareExchange(ref _addAffines, prepared, null) ?? prepared;
    }

    private Kernels.AddRequantization?[]? _addRequantizations;

    /// <summary>
    /// Per op, the AVX-512 Add/Sub requantizations (<see cref="Kernels.Elementwise.PrepareAddAvx512"/>; null for other
    /// ops, where the float32 form is prepared, and where it does not apply), built on first use and shared read-only
    /// like <see cref="PreparedAddTables"/>.
    /// </summary>
    internal Kernels.AddRequantization?[] PreparedAddRequantizations()
    {
        var prepared = Volatile.Read(ref _addRequantizations);
        if (prepared is not null) return prepared;
        prepared = new Kernels.AddRequantization?[_ops.Length];
        for (int i = 0; i < _ops.Length; i++)
        {
            var op = _ops[i];
            if ((op.Type == OpType.Add || op.Type == OpType.Sub) && _tensors[op.Output0].Type == TensorType.Int8 && PreparedAddAffines()[i] is null)
                prepared[i] = Kernels.Elementwise.PrepareAddAvx512(ReadParams<ElementwiseParams>(op), op.Type == OpType.Sub,
                    _tensors[op.Input0].Shape, _tensors[op.Input1].Shape, _tensors[op.Output0].Shape);
        }
        return Interlocked.CompareExchange(ref _addRequantizations, prepared, null) ?? prepared;
    }

    private ReadOnlySpan<sbyte> FilterS8(in OpInfo op) => MemoryMarshal.Cast<byte, sbyte>(GetConstantBytes(op.Input1));
    private ReadOnlySpan<int> BiasI32(in OpInfo op) => MemoryMarshal.Cast<byte, int>(GetConstantBytes(op.Input2));

    internal T ReadParams<T>(in OpInfo op) where T : unmanaged => MemoryMarshal.Read<T>(_blob.Span.Slice(op.ParamsOffset, op.ParamsBytes));

    internal QuantInfo QuantOf(int tensor) => _quant[_tensors[tensor].QuantIndex];

    /// <summary>Checks that every tensor is produced before it is read and that no two tensors live at the same time share arena bytes.</summary>
    private void ValidateDataflowAndPlan()
    {
        int n = _tensors.Length;
        var producer = new int[n];
        var lastUse = new int[n];
        var alias = new int[n];
        for (int t = 0; t < n; t++) { producer[t] = int.MinValue; lastUse[t] = -1; alias[t] = t; }
        foreach (var io in _inputs) producer[io.TensorIndex] = -1;
        for (int i = 0; i < _ops.Length; i++)
        {
            var op = _ops[i];
            for (int k = 0; k < op.InputCount; k++)
            {
                int t = op.Input(k);
                if (_tensors[t].Storage == TensorStorage.Constant) continue;
                if (producer[t] == int.MinValue)
                    throw Bad($"section Ops, record {i} ({op.Type}): input tensor {t} is read before any op writes it and is not a model input");
                lastUse[t] = i;
            }
            for (int k = 0; k < op.OutputCount; k++)
            {
                int t = op.Output(k);
                if (_tensors[t].Storage != TensorStorage.Arena)
                    throw Bad($"section Ops, record {i} ({op.Type}): output tensor {t} is a constant");
                if (producer[t] != int.MinValue)
                    throw Bad($"section Ops, record {i} ({op.Type}): output tensor {t} is already written by {(producer[t] < 0 ? "the model input" : "op " + producer[t])}");
                producer[t] = i;
            }
            if (op.Type == OpType.Reshape && _tensors[op.Output0].Offset == _tensors[op.Input0].Offset)
                alias[op.Output0] = Root(alias, op.Input0);
        }
        foreach (var io in _outputs)
        {
            if (producer[io.TensorIndex] == int.MinValue)
                throw Bad($"section IO: output '{io.Name}' (tensor {io.TensorIndex}) is never written");
            lastUse[io.TensorIndex] = _ops.Length;
        }

        // Lifetimes of alias groups (a Reshape output sharing its input's bytes).
        var first = new int[n];
        var last = new int[n];
        for (int t = 0; t < n; t++) { first[t] = int.MaxValue; last[t] = int.MinValue; }
        for (int t = 0; t < n; t++)
        {
            if (_tensors[t].Storage != TensorStorage.Arena || producer[t] == int.MinValue) continue;
            int r = Root(alias, t);
            first[r] = System.Math.Min(first[r], producer[t]);
            last[r] = System.Math.Max(last[r], System.Math.Max(lastUse[t], producer[t]));
        }
        var buffers = new List<(int Start, int End, int First, int Last, string What)>();
        for (int t = 0; t < n; t++)
        {
            if (alias[t] != t && Root(alias, t) != t)
            {
                var a = _tensors[t]; var root = _tensors[Root(alias, t)];
                if (a.ByteLength != root.ByteLength) throw Bad($"section Tensors: reshape alias tensor {t} has {a.ByteLength} bytes, its source {root.ByteLength}");
                continue;
            }
            if (first[t] == int.MaxValue) continue;
            buffers.Add((_tensors[t].Offset, _tensors[t].Offset + _tensors[t].ByteLength, first[t], last[t], $"tensor {t}"));
        }
        for (int i = 0; i < _ops.Length; i++)
            if (_ops[i].ScratchBytes > 0)
                buffers.Add((_ops[i].ScratchOffset, _ops[i].ScratchOffset + _ops[i].ScratchBytes, i, i, $"scratch of op {i}"));
        for (int x = 0; x < buffers.Count; x++)
            for (int y = x + 1; y < buffers.Count; y++)
            {
                var p = buffers[x]; var q = buffers[y];
                if (p.Start < q.End && q.Start < p.End && p.First <= q.Last && q.First <= p.Last)
                    throw Bad($"section MemoryPlan: {p.What} (arena [{p.Start}, {p.End}), ops {p.First}..{p.Last}) overlaps {q.What} (arena [{q.Start}, {q.End}), ops {q.First}..{q.Last}) while both are live");
            }
    }

    private static int Root(int[] alias, int t)
    {
        int guard = 0;
        while (alias[t] != t && guard++ < alias.Length) t = alias[t];
        return t;
    }

    private static uint U32(ReadOnlySpan<byte> s, int o) => BinaryPrimitives.ReadUInt32LittleEndian(s.Slice(o, 4));
    private static int I32(ReadOnlySpan<byte> s, int o) => BinaryPrimitives.ReadInt32LittleEndian(s.Slice(o, 4));
    internal static InvalidModelException Bad(string message) => new("Invalid EdgeQuant model: " + message);
}
