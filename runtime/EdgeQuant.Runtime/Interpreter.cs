using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using EdgeQuant.Runtime.Format;
using EdgeQuant.Runtime.Kernels;
using EdgeQuant.Runtime.Kernels.Simd;
using EdgeQuant.Runtime.Memory;

namespace EdgeQuant.Runtime;

/// <summary>Interpreter settings.</summary>
public sealed class InterpreterOptions
{
    /// <summary>Run the scalar reference kernels only (the definition of the arithmetic); for checks and speed comparisons.</summary>
    public bool ReferenceKernelsOnly { get; init; }

    /// <summary>
    /// Threads one <see cref="Interpreter.Invoke"/> uses, 1 to 64 (default 1). With more than one, the
    /// interpreter creates <c>Threads - 1</c> worker threads once, and the heavy ops are split, one part
    /// per thread: convolutions (Conv2D and DepthwiseConv2D of at least <see cref="Interpreter.MinParallelMacs"/>
    /// MACs: bands of output rows, or for Conv2D balanced ranges of pixels when the rows do not divide evenly),
    /// pooling and channel Concatenation (bands of output rows) and Add/Sub of equal shapes (ranges of elements)
    /// from <see cref="Interpreter.MinParallelElements"/> output elements, and Mean (ranges of channels) from
    /// <see cref="Interpreter.MinParallelMeanElements"/> input elements. A split op and the
    /// ops after it that read only the pixels they write (pointwise Conv2D, Add/Sub of equal shapes) run as one
    /// job, so the threads meet once per such chain, not once per op (an interpreter with its own arena may move
    /// some of their tensors after the planned arena for this, a few KB). The caller runs part 0 of every split op;
    /// the other parts are claimed, not assigned (in consecutive chains, each thread keeps the part it claimed in the
    /// first), so a worker that is slow to wake or descheduled leaves its part to the caller. The outputs are the same
    /// bytes as with one thread; nothing is allocated and no thread is created per Invoke. Dispose the interpreter to
    /// stop its workers (they are background threads and idle ones block, so a forgotten interpreter costs neither CPU
    /// nor the process's exit).
    /// </summary>
    public int Threads { get; init; } = 1;

    /// <summary>
    /// With the interpreter's own arena (default true): each model input lives on bytes of its own after the planned
    /// arena (<see cref="Interpreter.PreservedInputBytes"/>, the inputs' size rounded to 64 bytes), so that
    /// <see cref="Interpreter.Invoke"/> leaves the input as written and a second Invoke computes the same output. False,
    /// or a caller-provided arena: the planned arena only, whose plan reuses an input's bytes once its last reader has run
    /// (as TFLite Micro's planner does), so the input must be written before every Invoke.
    /// </summary>
    public bool PreserveInputs { get; init; } = true;
}

/// <summary>
/// Runs a <see cref="Model"/>. The arena (activations and kernel scratch) is allocated once at
/// construction, or supplied by the caller; <see cref="Invoke"/> allocates nothing. Inputs and
/// outputs are int8 NHWC views into the arena. One interpreter is not thread-safe; several
/// interpreters may share one model.
/// </summary>
public sealed partial class Interpreter : IDisposable
{
    /// <summary>Convolutions smaller than this many multiply-accumulates run on one thread: splitting them costs more than it saves.</summary>
    public const long MinParallelMacs = 32_768;

    /// <summary>Add/Sub, pooling and Concatenation with fewer output elements than this run on one thread (unless part of a chain).</summary>
    public const int MinParallelElements = 8192;

    /// <summary>Mean with fewer input elements than this runs on one thread.</summary>
    public const int MinParallelMeanElements = 16_384;

    private readonly Model _model;
    private readonly Memory<byte> _arena;
    private readonly bool _reference;
    private readonly TensorInfo[] _tensors;
    private readonly OpInfo[] _ops;
    // Per-op data of the Conv2D / DepthwiseConv2D / FullyConnected fast paths, shared with the model (null: none).
    private readonly PackedFilter?[] _packed;

    /// <summary>Whether op <paramref name="index"/> is a convolution prepared for the Winograd F(2x2, 3x3) path (for profiles: its products are fewer than its MACs).</summary>
    public bool UsesWinograd(int index)
#if NETSTANDARD2_1
        => false;
#else
        => (uint)index < (uint)_packed.Length && _packed[index]?.Winograd is not null;
#endif
    // Per-op transposed float filters of the float fallback layers (Interpreter.Mixed.cs; null: none).
    private readonly float[]?[] _floatFilters;
    private readonly short[] _patch16;
    // Per-op Add/Sub lookup tables of the fast path, shared with the model (null: none).
    private readonly sbyte[]?[] _addTables;
    private readonly Kernels.AddRequantization?[] _addRequantizations;
    private readonly Kernels.AddAffine?[] _addAffines;

    /// <summary>Per Concatenation op, per input that is rescaled: its 256 results (<see cref="Concatenation.RescaleTable"/>), built once.</summary>
    private readonly sbyte[]?[]?[] _concatTables;
    private readonly RescaleAffine?[]?[] _concatAffines;
    /// <summary>Per Concatenation op, per constant input: its bytes as the output holds them (rescaled once), see <see cref="PrepareConcatConstants"/>.</summary>
    private readonly ConcatConstant?[]?[] _concatConstants;
    // Threads > 1: the workers, each part's own kernel scratch, per op how many row bands it is split into (1: not
    // split), and per op the last op of the chain it starts (itself: none; see BuildChains).
    private readonly WorkerPool? _pool;
    private readonly sbyte[][] _partScratch = [];
    private readonly int[] _bands = [];
    private readonly int[] _chainEnd = [];
    private readonly int[] _chainParts = [];
    // Per op: split into balanced ranges of pixels rather than bands of rows (see RunConvolutionPixels), and each
    // part's buffer for the input window of a partial output row.
    private readonly bool[] _pixelBands = [];
    private readonly sbyte[][] _windowScratch = [];
    // Per op: a Winograd Conv2D split into balanced ranges of its 2x2 tiles (see RunWinogradTiles).
    private readonly bool[] _tileBands = [];
    // Per op: a pointwise Conv2D (IsPointwise), split as H x W rows of one pixel (ConvolutionView); set with the
    // threads, so that a part's set-up does not re-read the op's parameters to find out.
    private readonly bool[] _pointwise = [];
    // Jobs left to run on the caller's thread alone, and jobs in a row no worker helped with (see RunJob).
    private int _soloJobs;
    private int _unhelped;

    /// <summary>Jobs in a row no worker helped with after which the interpreter stops handing jobs out for <see cref="SoloJobs"/> jobs.</summary>
    internal const int UnhelpedLimit = 32;

    /// <summary>How many jobs run on the caller alone once the workers have not helped <see cref="UnhelpedLimit"/> times in a row.</summary>
    internal const int SoloJobs = 256;

    /// <summary>Makes the next <paramref name="jobs"/> jobs run on the caller alone (for tests).</summary>
    internal void RunAloneFor(int jobs) => _soloJobs = jobs;

    /// <summary>The worker threads (Threads &gt; 1 with split ops), for tests.</summary>
    internal WorkerPool? Pool => _pool;
    private readonly OpBands? _bandJob;
    // Threads > 1: runs of consecutive split ops and chains handed to the threads as one job of stages (see StagedBands):
    // per stage its first and last op, its parts, and the end (exclusive) of the run of two or more stages starting at it
    // (0: none starts there); per op, the stage it starts (-1: none).
    private readonly int[] _stagesEnd = [];
    private readonly int[] _stageFirst = [], _stageLast = [], _stageParts = [];
    private readonly int[] _stageOfOp = [];
    private readonly StagedBands? _stagedJob;

    /// <summary>Ops split across threads (for tests).</summary>
    internal int ParallelOpCount { get { int n = 0; foreach (int b in _bands) if (b > 1) n++; return n; } }

    /// <summary>Convolutions split into ranges of pixels rather than bands of rows (for tests).</summary>
    internal int PixelBandOpCount { get { int n = 0; foreach (bool b in _pixelBands) if (b) n++; return n; } }

    /// <summary>Winograd convolutions split into ranges of tiles (for tests).</summary>
    internal int TileBandOpCount { get { int n = 0; foreach (bool b in _tileBands) if (b) n++; return n; } }

    /// <summary>Runs of two or more consecutive stages (chains and split ops) that Invoke hands out as one job (for tests).</summary>
    internal int StagedRunCount { get { int n = 0; foreach (int e in _stagesEnd) if (e > 0) n++; return n; } }

    /// <summary>Bytes added after the planned arena for tensors moved so that chains can grow (for tests).</summary>
    internal int MovedTensorBytes { get; }

    /// <summary>
    /// Bytes this interpreter holds for its threads beyond the model's planned arena (<see cref="Model.ArenaBytes"/>):
    /// tensors moved after the arena so that chains can grow, and each part's kernel scratch and input window.
    /// 0 with one thread.
    /// </summary>
    public int ThreadBytes { get; }

    /// <summary>
    /// Bytes after the planned arena that hold the model's inputs (<see cref="InterpreterOptions.PreserveInputs"/>, with the
    /// interpreter's own arena); 0 otherwise.
    /// </summary>
    public int PreservedInputBytes { get; }

    /// <summary>The chains <see cref="Invoke"/> runs as one job each (first and last op; for tests and the benchmark).</summary>
    internal IEnumerable<(int First, int Last)> Chains()
    {
        for (int i = 0; i < _chainEnd.Length; i++)
            if (_chainEnd[i] > i) yield return (i, _chainEnd[i]);
    }

    public Model Model => _model;

    /// <summary>How many parts op <paramref name="index"/> is split into across the threads when run alone (<see cref="InvokeOp"/>; 1: on the caller's thread alone).</summary>
    public int OpParts(int index) => _pool is not null ? _bands[index] : 1;

    /// <summary>
    /// The first op of the chain <see cref="Invoke"/> runs op <paramref name="index"/> in, as one job of the threads
    /// (see <see cref="InterpreterOptions.Threads"/>); the op itself when it is in none.
    /// </summary>
    public int ChainStart(int index)
    {
        if (_pool is null) return index;
        for (int h = index; h >= 0; h--)
            if (_chainEnd[h] > h) return _chainEnd[h] >= index ? h : index;
        return index;
    }

    /// <summary>
    /// Creates an interpreter with its own arena of <see cref="Model.ArenaBytes"/> bytes, plus
    /// <see cref="PreservedInputBytes"/> and, with <see cref="InterpreterOptions.Threads"/> &gt; 1, room for the tensors
    /// that let more ops run as one job (see Interpreter.Chains.cs), allocated once.
    /// </summary>
    public Interpreter(Model model, InterpreterOptions? options = null)
        : this(model, Memory<byte>.Empty, options, ownArena: true) { }

    /// <summary>
    /// An arena of <paramref name="bytes"/> that starts on a 64-byte boundary and does not move (the pinned object heap).
    /// The blob's tensor offsets are multiples of 16, so each tensor then has the same place within cache lines in every
    /// process: with a plain array, which starts wherever the heap puts it, 512-bit accesses crossed cache lines or not
    /// by the luck of the process.
    /// </summary>
    private static Memory<byte> OwnArena(int bytes)
    {
#if NET
        var a = GC.AllocateArray<byte>(bytes + 64, pinned: true);
        unsafe
        {
            nint address = (nint)System.Runtime.CompilerServices.Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(a));
            return a.AsMemory((int)(-address & 63), bytes);
        }
#else
        return new byte[bytes];
#endif
    }

    /// <summary>Creates an interpreter over a caller-provided arena of at least <see cref="Model.ArenaBytes"/> bytes.</summary>
    public Interpreter(Model model, Memory<byte> arena, InterpreterOptions? options = null)
        : this(model, arena, options, ownArena: false) { }

    // ownArena: the interpreter allocates its arena itself (arena unused), once, at the end of construction, at its final
    // size: the planned arena, the preserved inputs and the tensors moved for chains.
    private Interpreter(Model model, Memory<byte> arena, InterpreterOptions? options, bool ownArena)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (!ownArena && arena.Length < model.ArenaBytes)
            throw new ArgumentException($"the arena has {arena.Length} bytes; the model needs {model.ArenaBytes}", nameof(arena));
        _model = model;
        _arena = arena;
        _reference = options?.ReferenceKernelsOnly ?? false;
        _tensors = new TensorInfo[model.Tensors.Count];
        for (int i = 0; i < _tensors.Length; i++) _tensors[i] = model.Tensors[i];
        _ops = new OpInfo[model.Ops.Count];
        for (int i = 0; i < _ops.Length; i++) _ops[i] = model.Ops[i];
        // The fast paths' per-op data (packed filters, folded biases) belongs to the model: built once,
        // on the first interpreter, and shared read-only by every interpreter of that model.
        _packed = !_reference && System.Runtime.Intrinsics.Vector128.IsHardwareAccelerated
            ? model.PreparedFilters()
            : new PackedFilter?[_ops.Length];
        _compressedPrepared = _reference ? new CompressedPrepared?[_ops.Length] : model.PreparedCompressed();
        _packedRequant = model.PreparedPackedRequant();
        _recurrentPacked = model.PreparedRecurrentPacked();
        _floatFilters = PrepareFloatFilters(model, _ops, _reference);
        _patch16 = PrepareConvPatch(model, _ops, _reference);
        _addTables = _reference ? new sbyte[]?[_ops.Length] : model.PreparedAddTables();
        _addRequantizations = _reference ? new Kernels.AddRequantization?[_ops.Length] : model.PreparedAddRequantizations();
        _addAffines = _reference ? new Kernels.AddAffine?[_ops.Length] : model.PreparedAddAffines();
        _concatTables = PrepareConcatTables(model, _ops, _reference, out _concatAffines);
        _concatConstants = PrepareConcatConstants(model, _ops, _reference);

        // Own arena: each model input on bytes of its own after the planned arena, so that Invoke leaves it as written.
        int arenaLength = ownArena ? System.Math.Max(model.ArenaBytes, 16) : arena.Length;
        if (ownArena && (options?.PreserveInputs ?? true))
        {
            int at = (arenaLength + 63) & ~63;
            foreach (var input in model.Inputs)
            {
                int t = input.TensorIndex;
                if (_tensors[t].Storage != TensorStorage.Arena || _tensors[t].Offset >= arenaLength) continue; // listed twice
                _tensors[t] = _tensors[t] with { Offset = at };
                at = (at + _tensors[t].ByteLength + 63) & ~63;
            }
            if (at > arenaLength)
            {
                PreservedInputBytes = at - arenaLength;
                arenaLength = at;
            }
        }

        int threads = options?.Threads ?? 1;
        if (threads < 1 || threads > 64)
            throw new ArgumentOutOfRangeException(nameof(options), threads, "InterpreterOptions.Threads must be 1 to 64");
        if (threads > 1)
        {
            _bands = new int[_ops.Length];
            _pixelBands = new bool[_ops.Length];
            _tileBands = new bool[_ops.Length];
            _pointwise = new bool[_ops.Length];
            for (int i = 0; i < _ops.Length; i++)
                _pointwise[i] = _ops[i].Type == OpType.Conv2D && IsPointwise(_ops[i], _model.ReadParams<Conv2DParams>(_ops[i]));
            int window = 0;
            for (int i = 0; i < _ops.Length; i++)
            {
                _bands[i] = BandsFor(i, threads);
                if (_bands[i] > 1 && WinogradTilesSplit(i, _bands[i]))
                    _tileBands[i] = true;
                else if (_bands[i] > 1 && _ops[i].Type is OpType.Conv2D or OpType.DepthwiseConv2D && PixelBandsPay(i, _bands[i], out int bytes))
                {
                    _pixelBands[i] = true;
                    window = System.Math.Max(window, bytes);
                }
            }
            (_chainEnd, _chainParts, int extra) = BuildChains(threads, ownArena ? arenaLength : -1);
            arenaLength += extra;
            MovedTensorBytes = extra;
            int scratch = 0;
            bool any = false;
            for (int i = 0; i < _ops.Length; i++)
            {
                if (_bands[i] > 1 || _chainEnd[i] > i) any = true;
                if (_bands[i] > 1) scratch = System.Math.Max(scratch, _ops[i].ScratchBytes);
                for (int k = i + 1; k <= _chainEnd[i]; k++) scratch = System.Math.Max(scratch, _ops[k].ScratchBytes);
            }
            if (any)
            {
                // Every part has its own scratch (part 0 too: in a chain, the arena's scratch of one op may hold a
                // tensor another part still reads).
                _partScratch = new sbyte[threads][];
                for (int i = 0; i < _partScratch.Length; i++) _partScratch[i] = new sbyte[scratch];
                _windowScratch = new sbyte[threads][];
                for (int i = 0; i < _windowScratch.Length; i++) _windowScratch[i] = new sbyte[window];
                _bandJob = new OpBands(this);
                (_stageFirst, _stageLast, _stageParts, _stageOfOp, _stagesEnd) = BuildStages();
                _stagedJob = new StagedBands(this, threads);
                _pool = new WorkerPool(threads - 1);
            }
            ThreadBytes = extra + (any ? threads * (scratch + window) : 0);
        }
        if (ownArena)
            _arena = OwnArena(arenaLength);
        Prepare(ownArena);
    }

    /// <summary>
    /// Runs the graph once over a zeroed arena and zeroes it again, so that every kernel builds here what it keeps for its
    /// op (requantization tables and their float32 forms, Winograd-transformed filters, folded biases; the model's share
    /// only on its first interpreter) and the first <see cref="Invoke"/> allocates nothing, as every later one. Before
    /// this, the first Invoke allocated 3-220 KB (the zoo models, BlazeFace the most). A caller-provided arena is the
    /// interpreter's from construction: it is all zeros afterwards (but for reference-kernel interpreters, which skip the
    /// run). Costs one inference at construction (and the JIT's first compilation of the kernels, which the first Invoke paid
    /// before).
    /// </summary>
    private void Prepare(bool ownArena)
    {
        // The reference kernels keep nothing per op (their first Invoke allocates nothing: tested), and they are what the
        // tests run most, slowly: no run for them.
        if (_reference)
            return;
        var bytes = _arena.Span;
        // An arena of our own was just allocated, zeroed; a caller's may hold anything.
        if (!ownArena)
            bytes.Clear();
        try
        {
            Invoke();
        }
        catch
        {
            _pool?.Dispose();
            throw;
        }
        bytes.Clear();
    }

    /// <summary>Stops the worker threads (<see cref="InterpreterOptions.Threads"/> &gt; 1); the interpreter must not be used afterwards.</summary>
    public void Dispose() => _pool?.Dispose();

    /// <summary>
    /// How many parts op <paramref name="index"/> is split into with <paramref name="threads"/> threads: 1 unless
    /// it is a batch-1 convolution of at least <see cref="MinParallelMacs"/> MACs with at least two output rows
    /// of its <see cref="ConvolutionView"/> and every band reads at least one real (unpadded) input row; or an Add/Sub of three equal shapes, a
    /// batch-1 pooling (with the same band rule) or a batch-1 channel Concatenation, of at least
    /// <see cref="MinParallelElements"/> output elements.
    /// </summary>
    private int BandsFor(int index, int threads)
    {
        ref readonly var op = ref _ops[index];
        if (op.Type is OpType.Add or OpType.Sub or OpType.MaxPool2D or OpType.AveragePool2D or OpType.Concatenation)
            return ElementBandsFor(op, threads);
        if (op.Type == OpType.Mean)
        {
            // Channel ranges on 16-channel boundaries (the kernel's vector step): at least 16 channels per part. The zoo's
            // Means (49 pixels x 88 or 120 channels, under 1 us) measured no faster split (0.77 -> 0.90 us, 1.00 -> 1.02).
            ref readonly var x = ref _tensors[op.Input0];
            if (x.ElementCount < MinParallelMeanElements || x.Type != TensorType.Int8) return 1;
            return System.Math.Min(threads, x.Shape.D3 / 16);
        }
        if (op.Type != OpType.Conv2D && op.Type != OpType.DepthwiseConv2D) return 1;
        // Bands of the op's view: rows, or pixels for a pointwise op, balanced to one pixel (a 7x7 map splits 25/24, not 4/3 rows).
        ConvolutionView(index, out var inS, out var oS);
        var fS = _tensors[op.Input1].Shape;
        var p = _model.ReadParams<Conv2DParams>(op);
        if (inS.D0 != 1 || oS.D1 < 2) return 1;
        long macs = (long)oS.FlatSize * fS.D1 * fS.D2 * (op.Type == OpType.Conv2D ? fS.D3 : 1);
        if (macs < MinParallelMacs) return 1;
        int bands = System.Math.Min(threads, oS.D1);
        for (int b = 0; b < bands; b++)
        {
            BandRows(p.StrideH, p.PadTop, p.DilationH, fS.D1, inS.D1, oS.D1, b, bands, out int y0, out int y1, out int c0, out int c1, out _, out _);
            if (y1 <= y0 || c1 <= c0) return 1;
        }
        return bands;
    }

    private int ElementBandsFor(in OpInfo op, int threads)
    {
        ref readonly var o = ref _tensors[op.Output0];
        if (o.ElementCount < MinParallelElements || o.Type != TensorType.Int8 || o.Rank != 4) return 1;
        var oS = o.Shape;
        switch (op.Type)
        {
            case OpType.Add:
            case OpType.Sub:
                return _tensors[op.Input0].Shape == oS && _tensors[op.Input1].Shape == oS ? threads : 1;
            case OpType.MaxPool2D:
            case OpType.AveragePool2D:
            {
                var inS = _tensors[op.Input0].Shape;
                if (inS.D0 != 1 || oS.D1 < 2) return 1;
                var p = _model.ReadParams<PoolParams>(op);
                int bands = System.Math.Min(threads, oS.D1);
                for (int b = 0; b < bands; b++)
                {
                    BandRows(p.StrideH, p.PadTop, 1, p.FilterH, inS.D1, oS.D1, b, bands, out int y0, out int y1, out int c0, out int c1, out _, out _);
                    if (y1 <= y0 || c1 <= c0) return 1;
                }
                return bands;
            }
            default: // Concatenation
                return oS.D1 >= 2 && IsChannelConcat(op, _model.ReadParams<ConcatParams>(op), oS) ? System.Math.Min(threads, oS.D1) : 1;
        }
    }

    /// <summary>
    /// Band <paramref name="band"/> of <paramref name="bands"/>: output rows [y0, y1), the input rows
    /// [c0, c1) they read, and the padding above and below those rows that the band's sub-convolution
    /// needs so that it computes exactly rows y0..y1-1 of the whole one.
    /// </summary>
    private static void BandRows(int strideH, int padTop0, int dilationH, int kh, int inH, int outH, int band, int bands,
        out int y0, out int y1, out int c0, out int c1, out int padTop, out int padBottom)
    {
        y0 = (int)((long)outH * band / bands);
        y1 = (int)((long)outH * (band + 1) / bands);
        RowWindow(strideH, padTop0, dilationH, kh, inH, y0, y1, out c0, out c1, out padTop, out padBottom);
    }

    /// <summary>The input rows [c0, c1) output rows [y0, y1) read, and the padding above and below them (see <see cref="BandRows"/>).</summary>
    private static void RowWindow(int strideH, int padTop0, int dilationH, int kh, int inH, int y0, int y1,
        out int c0, out int c1, out int padTop, out int padBottom)
    {
        int effective = (kh - 1) * dilationH + 1;
        int r0 = y0 * strideH - padTop0;
        int r1 = (y1 - 1) * strideH - padTop0 + effective;
        c0 = System.Math.Max(r0, 0);
        c1 = System.Math.Min(r1, inH);
        padTop = c0 - r0;
        padBottom = r1 - c1;
    }

    /// <summary>
    /// A 1x1 Conv2D with unit strides and no padding: every output pixel reads only its own input pixel, so the op
    /// equals itself on the [1, H x W, 1, C] view of both tensors (the same bytes in the same order).
    /// </summary>
    private bool IsPointwise(in OpInfo op, in Conv2DParams p)
    {
        if (op.Type != OpType.Conv2D) return false;
        var fS = _tensors[op.Input1].Shape;
        var inS = _tensors[op.Input0].Shape;
        var oS = _tensors[op.Output0].Shape;
        return fS.D1 == 1 && fS.D2 == 1 && p.StrideH == 1 && p.StrideW == 1
            && (p.PadTop | p.PadLeft | p.PadBottom | p.PadRight) == 0 && inS.D1 == oS.D1 && inS.D2 == oS.D2;
    }

    /// <summary>Runs band <paramref name="band"/> of convolution op <paramref name="index"/> as a sub-convolution over its rows (of pixels, for a pointwise op).</summary>
    private void RunConvolutionBand(int index, int band, int bands)
    {
        if (_tileBands[index])
        {
            RunWinogradTiles(index, band, bands);
            return;
        }
        int outH = ConvolutionView(index, out _, out var oS);
        if (_pixelBands[index])
        {
            int n = outH * oS.D2;
            RunConvolutionPixels(index, (int)((long)n * band / bands), (int)((long)n * (band + 1) / bands), band);
            return;
        }
        RunConvolutionRows(index, (int)((long)outH * band / bands), (int)((long)outH * (band + 1) / bands), band);
    }

    /// <summary>
    /// Whether Conv2D op <paramref name="index"/>, split into <paramref name="parts"/>, runs a Winograd kernel
    /// (<see cref="Conv2D.WinogradTakes"/>) and has a tile for every part: then each part computes a balanced range
    /// of its 2x2 tiles (<see cref="RunWinogradTiles"/>). Bands of rows computed whole tile rows each: a 14x14 map's 7
    /// tile rows went 4 + 4 (each half of 7 output rows rounded up to tile rows), 8/7 of the op, where 25/24 tiles are
    /// the op once.
    /// </summary>
    private bool WinogradTilesSplit(int index, int parts)
    {
        ref readonly var op = ref _ops[index];
        if (_reference || op.Type != OpType.Conv2D || _packed[index] is not { } packed) return false;
        var p = _model.ReadParams<Conv2DParams>(op);
        var inS = _tensors[op.Input0].Shape;
        var oS = _tensors[op.Output0].Shape;
        if (inS.D0 != 1 || oS.D0 != 1) return false;
        int cout = oS.D3;
        return Conv2D.WinogradTakes(p, inS, _tensors[op.Input1].Shape, packed, ConstI32(p.MultipliersOffset, cout), ConstI32(p.ShiftsOffset, cout), oS)
            && Conv2D.WinogradTiles(oS.D1, oS.D2, out _) >= parts;
    }

    /// <summary>Tiles [t0, t1) that part <paramref name="band"/> of <paramref name="bands"/> of a tile-split convolution computes.</summary>
    private void TileRange(int index, int band, int bands, out int t0, out int t1, out int tilesPerRow)
    {
        var oS = _tensors[_ops[index].Output0].Shape;
        int tiles = Conv2D.WinogradTiles(oS.D1, oS.D2, out tilesPerRow);
        t0 = (int)((long)tiles * band / bands);
        t1 = (int)((long)tiles * (band + 1) / bands);
    }

    /// <summary>Part <paramref name="band"/> of a Winograd convolution split by tiles (<see cref="WinogradTilesSplit"/>): its range of tiles, on the whole tensors.</summary>
    private void RunWinogradTiles(int index, int band, int bands)
    {
        TileRange(index, band, bands, out int t0, out int t1, out _);
        if (t1 <= t0) return;
        ref readonly var op = ref _ops[index];
        var p = _model.ReadParams<Conv2DParams>(op);
        int cout = _tensors[op.Output0].Shape.D3;
        if (!Conv2D.TryEvalS8WinogradTiles(p, S8(op.Input0), _tensors[op.Input0].Shape, _tensors[op.Input1].Shape, _packed[index]!,
                ConstI32(p.MultipliersOffset, cout), ConstI32(p.ShiftsOffset, cout), ArenaS8(op.Output0), _tensors[op.Output0].Shape, t0, t1))
            throw new InvalidOperationException($"op {index}: the Winograd kernel refused tiles {t0}-{t1} of a convolution it was found to take");
    }

    /// <summary>
    /// Whether convolution op <paramref name="index"/>, split into <paramref name="parts"/>, is better split into
    /// balanced ranges of pixels than into bands of rows: its rows do not divide evenly (a 7-row map in 2 parts:
    /// 4/3 rows, 57% of the op on one thread, against 25/24 pixels) and every part's rows and partial rows read
    /// real input. <paramref name="windowBytes"/>: the input window a partial row needs.
    /// </summary>
    private bool PixelBandsPay(int index, int parts, out int windowBytes)
    {
        windowBytes = 0;
        int outH = ConvolutionView(index, out var inS, out var oS);
        // Depthwise only where its rows kernel takes a pixel range whole (DepthwiseConv2D.TryEvalS8Pixels): on one-row
        // windows of a few pixels the depthwise kernels measured slower than the 4/3 row split they replace
        // (fashion_mobilenetv2's 7x7 depthwise layers: 1.08-1.14x against 1.20x).
        if (_ops[index].Type == OpType.DepthwiseConv2D
            && (_reference || !DepthwiseConv2D.RowsAvx2Takes(_model.ReadParams<Conv2DParams>(_ops[index]), inS, _tensors[_ops[index].Input1].Shape, _packed[index], oS)))
            return false;
        int w = oS.D2;
        if (w < 2 || outH % parts == 0) return false;
        ref readonly var op = ref _ops[index];
        var p = _model.ReadParams<Conv2DParams>(op);
        var fS = _tensors[op.Input1].Shape;
        int n = outH * w;
        for (int b = 0; b < parts; b++)
        {
            int p0 = (int)((long)n * b / parts), p1 = (int)((long)n * (b + 1) / parts);
            if (p1 <= p0) return false;
            // Every row the part touches, and the columns of its partial first and last rows, read real input.
            for (int y = p0 / w; y <= (p1 - 1) / w; y++)
            {
                RowWindow(p.StrideH, p.PadTop, p.DilationH, fS.D1, inS.D1, y, y + 1, out int c0, out int c1, out _, out _);
                int x0 = y == p0 / w ? p0 % w : 0, x1 = y == (p1 - 1) / w ? (p1 - 1) % w + 1 : w;
                ColumnWindow(p, fS.D2, inS.D2, x0, x1, out int ix0, out int ix1, out _, out _);
                if (c1 <= c0 || ix1 <= ix0) return false;
                windowBytes = System.Math.Max(windowBytes, (c1 - c0) * (ix1 - ix0) * inS.D3);
            }
        }
        return true;
    }

    /// <summary>Input columns [ix0, ix1) output columns [x0, x1) read, and the padding left and right of them.</summary>
    private static void ColumnWindow(in Conv2DParams p, int kw, int inW, int x0, int x1, out int ix0, out int ix1, out int padLeft, out int padRight)
    {
        int effective = (kw - 1) * p.DilationW + 1;
        int r0 = x0 * p.StrideW - p.PadLeft, r1 = (x1 - 1) * p.StrideW - p.PadLeft + effective;
        ix0 = System.Math.Max(r0, 0);
        ix1 = System.Math.Min(r1, inW);
        padLeft = ix0 - r0;
        padRight = r1 - ix1;
    }

    /// <summary>
    /// Output pixels [<paramref name="p0"/>, <paramref name="p1"/>) (row-major) of convolution op <paramref name="index"/>:
    /// a partial first row, whole rows, a partial last row. A partial row is a sub-convolution of one row over a copy
    /// of the input columns it reads (with its own padding), so every pixel is computed as in the whole op.
    /// </summary>
    private void RunConvolutionPixels(int index, int p0, int p1, int part)
    {
        if (!_reference && !_pointwise[index])
        {
            // The rows kernels take the range whole (one staging, the range's pixels in 4-pixel tiles): fashion_resnet's 7x7
            // stride-2 layer split 25/24 took 1.46x as windows (a last partial row of 3 pixels in 1-pixel tiles).
            ref readonly var op = ref _ops[index];
            var p = _model.ReadParams<Conv2DParams>(op);
            var fS = _tensors[op.Input1].Shape;
            var inS = _tensors[op.Input0].Shape;
            var outS = _tensors[op.Output0].Shape;
            if (op.Type == OpType.DepthwiseConv2D
                ? DepthwiseConv2D.TryEvalS8Pixels(p, S8(op.Input0), inS, fS, _packed[index], ConstI32(p.MultipliersOffset, outS.D3),
                    ConstI32(p.ShiftsOffset, outS.D3), ArenaS8(op.Output0), outS, p0, p1)
                : Conv2D.TryEvalS8Pixels(p, S8(op.Input0), inS, fS, _packed[index], ConstI32(p.MultipliersOffset, outS.D3),
                    ConstI32(p.ShiftsOffset, outS.D3), ArenaS8(op.Output0), outS, p0, p1))
                return;
        }
        ConvolutionView(index, out _, out var oS);
        int w = oS.D2;
        int y = p0 / w, x = p0 % w;
        if (x != 0)
        {
            int xe = System.Math.Min(w, x + (p1 - p0));
            RunConvolutionWindow(index, y, x, xe, part);
            p0 += xe - x;
            y++;
        }
        if (p0 >= p1) return;
        int yEnd = p1 / w;
        if (yEnd > y) RunConvolutionRows(index, y, yEnd, part);
        if (p1 > yEnd * w) RunConvolutionWindow(index, yEnd, 0, p1 - yEnd * w, part);
    }

    /// <summary>Output row <paramref name="y"/>, columns [<paramref name="x0"/>, <paramref name="x1"/>) of convolution op <paramref name="index"/> (see <see cref="RunConvolutionPixels"/>).</summary>
    private void RunConvolutionWindow(int index, int y, int x0, int x1, int part)
    {
        ref readonly var op = ref _ops[index];
        var p = _model.ReadParams<Conv2DParams>(op);
        var fS = _tensors[op.Input1].Shape;
        ConvolutionView(index, out var inS, out var oS);
        RowWindow(p.StrideH, p.PadTop, p.DilationH, fS.D1, inS.D1, y, y + 1, out int c0, out int c1, out int padTop, out int padBottom);
        ColumnWindow(p, fS.D2, inS.D2, x0, x1, out int ix0, out int ix1, out int padLeft, out int padRight);
        int cin = inS.D3, ww = ix1 - ix0, cout = oS.D3;
        var window = _windowScratch[part].AsSpan(0, (c1 - c0) * ww * cin);
        var input = S8(op.Input0);
        for (int r = c0; r < c1; r++)
            input.Slice((r * inS.D2 + ix0) * cin, ww * cin).CopyTo(window.Slice((r - c0) * ww * cin, ww * cin));
        var bp = p;
        bp.PadTop = padTop;
        bp.PadBottom = padBottom;
        bp.PadLeft = padLeft;
        bp.PadRight = padRight;
        EvalConvolution(op, _packed[index], bp, window, new Shape4(1, c1 - c0, ww, cin),
            ArenaS8(op.Output0).Slice((y * oS.D2 + x0) * cout, (x1 - x0) * cout), new Shape4(1, 1, x1 - x0, cout),
            _partScratch[part].AsSpan(0, op.ScratchBytes));
    }

    /// <summary>The output rows of convolution op <paramref name="index"/> as it is split: its own rows, or its pixels for a pointwise op (<see cref="IsPointwise"/>).</summary>
    private int ConvolutionView(int index, out Shape4 inS, out Shape4 oS)
    {
        ref readonly var op = ref _ops[index];
        inS = _tensors[op.Input0].Shape;
        oS = _tensors[op.Output0].Shape;
        if (_pointwise[index])
        {
            inS = new Shape4(inS.D0, inS.D1 * inS.D2, 1, inS.D3);
            oS = new Shape4(oS.D0, oS.D1 * oS.D2, 1, oS.D3);
        }
        return oS.D1;
    }

    /// <summary>Output rows [<paramref name="y0"/>, <paramref name="y1"/>) of convolution op <paramref name="index"/> (rows of its <see cref="ConvolutionView"/>) as a sub-convolution, with part <paramref name="part"/>'s scratch.</summary>
    private void RunConvolutionRows(int index, int y0, int y1, int part)
    {
        if (y1 <= y0) return;
        ref readonly var op = ref _ops[index];
        var p = _model.ReadParams<Conv2DParams>(op);
        ref readonly var fT = ref _tensors[op.Input1];
        ConvolutionView(index, out var inS, out var oS);
        RowWindow(p.StrideH, p.PadTop, p.DilationH, fT.Shape.D1, inS.D1, y0, y1, out int c0, out int c1, out int padTop, out int padBottom);
        var bp = p;
        bp.PadTop = padTop;
        bp.PadBottom = padBottom;
        int inRow = inS.D2 * inS.D3, outRow = oS.D2 * oS.D3;
        var inShape = new Shape4(1, c1 - c0, inS.D2, inS.D3);
        var outShape = new Shape4(1, y1 - y0, oS.D2, oS.D3);
        Span<sbyte> scratch = _partScratch[part].AsSpan(0, op.ScratchBytes);
        EvalConvolution(op, _packed[index], bp, S8(op.Input0).Slice(c0 * inRow, (c1 - c0) * inRow), inShape,
            ArenaS8(op.Output0).Slice(y0 * outRow, (y1 - y0) * outRow), outShape, scratch);
    }

    /// <summary>Conv2D or DepthwiseConv2D op <paramref name="op"/> on the given input and output (the whole tensors, or one band of rows).</summary>
    private void EvalConvolution(in OpInfo op, PackedFilter? packed, in Conv2DParams p, ReadOnlySpan<sbyte> input, in Shape4 inShape,
        Span<sbyte> output, in Shape4 outShape, Span<sbyte> scratch)
    {
        ref readonly var fT = ref _tensors[op.Input1];
        int cout = outShape.D3;
        var mult = ConstI32(p.MultipliersOffset, cout);
        var shift = ConstI32(p.ShiftsOffset, cout);
        if (op.Type == OpType.Conv2D)
        {
            if (_reference) Conv2D.EvalS8Reference(p, input, inShape, S8(op.Input1), fT.Shape, I32(op.Input2), mult, shift, output, outShape);
            else Conv2D.EvalS8(p, input, inShape, S8(op.Input1), fT.Shape, I32(op.Input2), packed, mult, shift, output, outShape, scratch);
        }
        else
        {
            if (_reference) DepthwiseConv2D.EvalS8Reference(p, input, inShape, S8(op.Input1), fT.Shape, I32(op.Input2), mult, shift, output, outShape);
            else DepthwiseConv2D.EvalS8(p, input, inShape, S8(op.Input1), fT.Shape, I32(op.Input2), packed, mult, shift, output, outShape);
        }
    }

    /// <summary>
    /// Part <paramref name="band"/> of <paramref name="bands"/> of an Add/Sub (a range of elements, its ends on
    /// multiples of 16 so every part but the last runs whole vector steps), a pooling (a band of output rows
    /// over the input rows it reads, with the band's own padding) or a channel Concatenation (a band of rows
    /// of every input and of the output).
    /// </summary>
    private void RunElementBand(int index, int band, int bands)
    {
        ref readonly var op = ref _ops[index];
        ref readonly var oT = ref _tensors[op.Output0];
        var oS = oT.Shape;
        switch (op.Type)
        {
            case OpType.Mean:
            {
                var p = _model.ReadParams<MeanParams>(op);
                var inS = _tensors[op.Input0].Shape;
                int c = inS.D3;
                // Boundaries rounded to the nearest multiple of 16: 120 channels split 64/56.
                int c0 = band == 0 ? 0 : ((int)((long)c * band / bands) + 8) & ~15;
                int c1 = band == bands - 1 ? c : ((int)((long)c * (band + 1) / bands) + 8) & ~15;
                if (c1 <= c0) return;
                if (_reference) Mean.EvalS8Reference(p, S8(op.Input0), inS, ArenaS8(op.Output0), c0, c1);
                else Mean.EvalS8(p, S8(op.Input0), inS, ArenaS8(op.Output0), c0, c1);
                return;
            }
            case OpType.Add:
            case OpType.Sub:
            {
                int n = oT.ElementCount;
                int from = (int)((long)n * band / bands) & ~15;
                int to = band == bands - 1 ? n : (int)((long)n * (band + 1) / bands) & ~15;
                RunAddRange(index, from, to);
                return;
            }
            case OpType.MaxPool2D:
            case OpType.AveragePool2D:
            {
                var p = _model.ReadParams<PoolParams>(op);
                var inS = _tensors[op.Input0].Shape;
                BandRows(p.StrideH, p.PadTop, 1, p.FilterH, inS.D1, oS.D1, band, bands, out int y0, out int y1, out int c0, out int c1, out int padTop, out int padBottom);
                if (y1 <= y0) return;
                var bp = p;
                bp.PadTop = padTop;
                bp.PadBottom = padBottom;
                int inRow = inS.D2 * inS.D3, outRow = oS.D2 * oS.D3;
                var inShape = new Shape4(1, c1 - c0, inS.D2, inS.D3);
                var outShape = new Shape4(1, y1 - y0, oS.D2, oS.D3);
                var x = S8(op.Input0).Slice(c0 * inRow, (c1 - c0) * inRow);
                var y = ArenaS8(op.Output0).Slice(y0 * outRow, (y1 - y0) * outRow);
                bool max = op.Type == OpType.MaxPool2D;
                if (_reference)
                {
                    if (max) Pooling.MaxS8Reference(bp, x, inShape, y, outShape);
                    else Pooling.AverageS8Reference(bp, x, inShape, y, outShape);
                }
                else if (max) Pooling.MaxS8(bp, x, inShape, y, outShape);
                else Pooling.AverageS8(bp, x, inShape, y, outShape);
                return;
            }
            default: // Concatenation along channels
            {
                int y0 = (int)((long)oS.D1 * band / bands), y1 = (int)((long)oS.D1 * (band + 1) / bands);
                ConcatRows(index, _model.ReadParams<ConcatParams>(op), y0, y1);
                return;
            }
        }
    }

    /// <summary>
    /// Output rows [<paramref name="y0"/>, <paramref name="y1"/>) of channel Concatenation op <paramref name="index"/> (batch 1,
    /// every input of the output's height and width): each input's rows of the band in turn.
    /// </summary>
    private void ConcatRows(int index, in ConcatParams p, int y0, int y1)
    {
        if (y1 <= y0) return;
        ref readonly var op = ref _ops[index];
        var oS = _tensors[op.Output0].Shape;
        int outRow = oS.D2 * oS.D3;
        var outShape = new Shape4(1, y1 - y0, oS.D2, oS.D3);
        var output = ArenaS8(op.Output0).Slice(y0 * outRow, (y1 - y0) * outRow);
#if !NETSTANDARD2_1
        if (!_reference && op.InputCount == 2 && ConcatCopied(index, p, 0) && ConcatCopied(index, p, 1))
        {
            // Both inputs copied: one pass over the pixels, each input's run moved whole (Concatenation.InterleaveChannels).
            int pixels = (y1 - y0) * oS.D2;
            int c0 = _tensors[op.Input0].Shape.D3, c1 = _tensors[op.Input1].Shape.D3;
            ConcatSource(index, 0, y0 * oS.D2, out var a, out int stepA);
            ConcatSource(index, 1, y0 * oS.D2, out var b, out int stepB);
            Concatenation.InterleaveChannels(a, c0, stepA, b, c1, stepB, output, pixels);
            return;
        }
#endif
        int axisOffset = 0;
        for (int k = 0; k < op.InputCount; k++)
        {
            var s = _tensors[op.Input(k)].Shape;
            int inRow = s.D2 * s.D3;
            ConcatInputInto(index, p, k, y0 * inRow, (y1 - y0) * inRow, new Shape4(1, y1 - y0, s.D2, s.D3), output, outShape, axisOffset);
            axisOffset += s.D3;
        }
    }

    /// <summary>
    /// Concatenation input <paramref name="k"/> of op <paramref name="index"/>, elements [from, from + count) of it (shaped
    /// <paramref name="inShape"/>), into its place in <paramref name="output"/>: by the reference kernel, or copied from its
    /// prepared constant, or through its float32 form or table, or rescaled by the vector kernel.
    /// </summary>
    private void ConcatInputInto(int index, in ConcatParams p, int k, int from, int count, in Shape4 inShape, Span<sbyte> output,
        in Shape4 outShape, int axisOffset)
    {
        if (_concatConstants[index]?[k] is { } constant) // none for the reference kernels
        {
            Concatenation.EvalInputS8Constant(constant, from, inShape, output, outShape, p.Axis, axisOffset);
            return;
        }
        var (off, m, sh) = ConcatInput(p, k);
        var input = S8(_ops[index].Input(k)).Slice(from, count);
        if (_reference) Concatenation.EvalInputS8Reference(input, inShape, output, outShape, p.Axis, axisOffset, off, m, sh, p.OutputOffset);
        else if (_concatAffines[index]?[k] is { } affine) Concatenation.EvalInputS8Affine(affine, input, inShape, output, outShape, p.Axis, axisOffset);
        else if (_concatTables[index]?[k] is { } table) Concatenation.EvalInputS8Mapped(table, input, inShape, output, outShape, p.Axis, axisOffset);
        else Concatenation.EvalInputS8(input, inShape, output, outShape, p.Axis, axisOffset, off, m, sh, p.OutputOffset);
    }

    /// <summary>Elements [<paramref name="from"/>, <paramref name="to"/>) of Add/Sub op <paramref name="index"/> of three equal shapes.</summary>
    private void RunAddRange(int index, int from, int to)
    {
        if (to <= from) return;
        ref readonly var op = ref _ops[index];
        var p = _model.ReadParams<ElementwiseParams>(op);
        var shape = new Shape4(1, 1, 1, to - from);
        var a = S8(op.Input0).Slice(from, to - from);
        var b = S8(op.Input1).Slice(from, to - from);
        var y = ArenaS8(op.Output0).Slice(from, to - from);
        if (_addAffines[index] is { } f) Elementwise.AddS8Affine(f, a, b, y);
        else if (_addRequantizations[index] is { } q) Elementwise.AddS8Avx512(q, a, b, y);
        else if (_addTables[index] is { } table) Elementwise.AddS8Table(table, a, b, y);
        else if (_reference) Elementwise.AddS8Reference(p, a, shape, b, shape, y, shape, op.Type == OpType.Sub);
        else Elementwise.AddS8(p, a, shape, b, shape, y, shape, op.Type == OpType.Sub);
    }

    /// <summary>
    /// The 256-value tables of every Concatenation input that is rescaled (multiplier not 0) and large enough to repay
    /// one (<see cref="Concatenation.RescaleTableMinElements"/> elements), where the machine maps them fast
    /// (<see cref="Concatenation.MapsTables"/>); none for the reference kernels. Beside each table, where the machine maps
    /// bytes one by one (<see cref="Concatenation.PrefersAffine"/>), the input's float32 form where it gives the table's
    /// bytes (<see cref="Concatenation.PrepareRescaleAffine"/>), which runs instead.
    /// </summary>
    private static sbyte[]?[]?[] PrepareConcatTables(Model model, OpInfo[] ops, bool reference, out RescaleAffine?[]?[] affines)
    {
        var tables = new sbyte[]?[]?[ops.Length];
        affines = new RescaleAffine?[]?[ops.Length];
        if (reference || !Concatenation.MapsTables) return tables;
        for (int i = 0; i < ops.Length; i++)
        {
            ref readonly var op = ref ops[i];
            if (op.Type != OpType.Concatenation) continue;
            var p = model.ReadParams<ConcatParams>(op);
            for (int k = 0; k < op.InputCount && k < 4; k++)
            {
                var (off, m, sh) = ConcatInput(p, k);
                var t = model.Tensors[op.Input(k)];
                if (m == 0 || t.Type != TensorType.Int8 || t.ElementCount < Concatenation.RescaleTableMinElements) continue;
                tables[i] ??= new sbyte[]?[op.InputCount];
                tables[i]![k] = Concatenation.RescaleTable(off, m, sh, p.OutputOffset);
                int chunk = Concatenation.Runs(t.Shape, model.Tensors[op.Output0].Shape, p.Axis, 0).Chunk;
                if (Concatenation.PrefersAffine && Concatenation.PrepareRescaleAffine(off, m, sh, p.OutputOffset, tables[i]![k], chunk) is { } affine)
                {
                    affines[i] ??= new RescaleAffine?[op.InputCount];
                    affines[i]![k] = affine;
                }
            }
        }
        return tables;
    }

    /// <summary>
    /// The constant int8 inputs of every Concatenation (a channel padding written as a Concat with a zero tensor, as in
    /// tf2onnx's BlazeFace), rescaled once here by the reference arithmetic: at run time they are copied, not rescaled again
    /// (for a run of a few channels the rescaling went byte by byte through a table). None for the reference kernels.
    /// </summary>
    private static ConcatConstant?[]?[] PrepareConcatConstants(Model model, OpInfo[] ops, bool reference)
    {
        var constants = new ConcatConstant?[]?[ops.Length];
        if (reference) return constants;
        for (int i = 0; i < ops.Length; i++)
        {
            ref readonly var op = ref ops[i];
            if (op.Type != OpType.Concatenation) continue;
            var p = model.ReadParams<ConcatParams>(op);
            var outShape = model.Tensors[op.Output0].Shape;
            for (int k = 0; k < op.InputCount; k++)
            {
                var t = model.Tensors[op.Input(k)];
                if (t.Storage != TensorStorage.Constant || t.Type != TensorType.Int8) continue;
                var (off, m, sh) = ConcatInput(p, k);
                constants[i] ??= new ConcatConstant?[op.InputCount];
                constants[i]![k] = Concatenation.PrepareConstant(MemoryMarshal.Cast<byte, sbyte>(model.GetConstantBytes(op.Input(k))),
                    t.Shape, outShape, p.Axis, off, m, sh, p.OutputOffset);
            }
        }
        return constants;
    }

    /// <summary>Input offset, multiplier and shift of Concatenation input <paramref name="k"/>.</summary>
    private static (int Offset, int Multiplier, int Shift) ConcatInput(in ConcatParams p, int k) => k switch
    {
        0 => (p.In0Offset, p.In0Multiplier, p.In0Shift),
        1 => (p.In1Offset, p.In1Multiplier, p.In1Shift),
        2 => (p.In2Offset, p.In2Multiplier, p.In2Shift),
        _ => (p.In3Offset, p.In3Multiplier, p.In3Shift),
    };

    /// <summary>The pool's job: the parts of one split op.</summary>
    private sealed class OpBands(Interpreter owner) : IParallelJob
    {
        public int Op;
        // The last op of a chain (Op: a single op).
        public int Last;
        public int Bands;

        public void RunPart(int part, int parts)
        {
            if (part < Bands) owner.RunOpsPart(Op, Last, part, Bands);
        }
    }

    /// <summary>Part <paramref name="part"/> of ops <paramref name="first"/>..<paramref name="last"/>: a chain's part, or a split op's band.</summary>
    private void RunOpsPart(int first, int last, int part, int parts)
    {
        if (last > first) RunChainPart(first, last, part, parts);
        else if (_ops[first].Type is OpType.Conv2D or OpType.DepthwiseConv2D) RunConvolutionBand(first, part, parts);
        else RunElementBand(first, part, parts);
    }

    /// <summary>
    /// The int8 NHWC buffer of input <paramref name="index"/>; write it, then <see cref="Invoke"/>. With the interpreter's
    /// own arena the input keeps its bytes (<see cref="InterpreterOptions.PreserveInputs"/>, the default), so Invoke may be
    /// called again on the same input. Over a caller-provided arena, or with PreserveInputs false, write it before every
    /// Invoke: the arena plan reuses the input's bytes for tensors computed after its last reader (as TFLite Micro's
    /// planner does; every zoo model does this), and a second Invoke would compute from those bytes.
    /// </summary>
    public Span<sbyte> GetInput(int index = 0) => ArenaS8(_model.Inputs[index].TensorIndex);

    /// <summary>The int8 buffer of output <paramref name="index"/>, valid until the next <see cref="Invoke"/>.</summary>
    public ReadOnlySpan<sbyte> GetOutput(int index = 0) => ArenaS8(_model.Outputs[index].TensorIndex);

    /// <summary>Scale and zero point of input <paramref name="index"/>; throws <see cref="InvalidOperationException"/> for an unquantized (float32) input.</summary>
    public (float Scale, int ZeroPoint) GetInputQuantization(int index = 0) => QuantOf(_model.Inputs[index].TensorIndex);

    /// <summary>Scale and zero point of output <paramref name="index"/>; throws <see cref="InvalidOperationException"/> for an unquantized (float32) output.</summary>
    public (float Scale, int ZeroPoint) GetOutputQuantization(int index = 0) => QuantOf(_model.Outputs[index].TensorIndex);

    /// <summary>
    /// Writes float values (NHWC order, one per input element) into input <paramref name="index"/>:
    /// quantized for an int8 or int16 input, copied for a float32 input (a model that starts with Quantize).
    /// Over a caller-provided arena, call it before every <see cref="Invoke"/> (see <see cref="GetInput"/>).
    /// </summary>
    /// <exception cref="InvalidOperationException">Quantizing while this thread's floating-point rounding mode is not the default (nothing written).</exception>
    public void SetInput(ReadOnlySpan<float> values, int index = 0)
    {
        int tensor = _model.Inputs[index].TensorIndex;
        ref readonly var t = ref _tensors[tensor];
        if (values.Length != t.ElementCount)
            throw new ArgumentException($"input '{_model.Inputs[index].Name}' takes {t.ElementCount} values, got {values.Length}", nameof(values));
        var dst = _arena.Span.Slice(t.Offset, t.ByteLength);
        if (t.Type == TensorType.Float32)
        {
            values.CopyTo(MemoryMarshal.Cast<byte, float>(dst));
            return;
        }
        if (t.Type != TensorType.Int16) RequireInt8(tensor, _model.Inputs[index].Name);
        // Quantizing rounds (the float division and VCVTPS2DQ follow the thread's rounding mode): as Invoke, refuse
        // another mode rather than write other bytes than the reference; nothing is written then.
        RequireRoundToNearest();
        if (t.Type == TensorType.Int16)
        {
            Int16Ops.QuantizeF32ToS16(values, MemoryMarshal.Cast<byte, short>(dst), GetInputQuantization(index).Scale);
            return;
        }
        var (scale, zp) = GetInputQuantization(index);
        Quantize.EvalF32ToS8(values, MemoryMarshal.Cast<byte, sbyte>(dst), scale, zp);
    }

    /// <summary>
    /// Reads output <paramref name="index"/> as floats into <paramref name="destination"/>:
    /// dequantized for an int8 or int16 output, copied for a float32 output (a model that ends with Dequantize).
    /// </summary>
    /// <exception cref="InvalidOperationException">Dequantizing while this thread's floating-point rounding mode is not the default.</exception>
    public void GetOutput(Span<float> destination, int index = 0)
    {
        int tensor = _model.Outputs[index].TensorIndex;
        ref readonly var t = ref _tensors[tensor];
        if (destination.Length != t.ElementCount)
            throw new ArgumentException($"output '{_model.Outputs[index].Name}' has {t.ElementCount} values, the destination {destination.Length}", nameof(destination));
        var src = _arena.Span.Slice(t.Offset, t.ByteLength);
        if (t.Type == TensorType.Float32)
        {
            MemoryMarshal.Cast<byte, float>(src).CopyTo(destination);
            return;
        }
        if (t.Type != TensorType.Int16) RequireInt8(tensor, _model.Outputs[index].Name);
        RequireRoundToNearest(); // (q - zero point) x scale rounds too
        if (t.Type == TensorType.Int16)
        {
            Int16Ops.DequantizeS16ToF32(MemoryMarshal.Cast<byte, short>(src), destination, GetOutputQuantization(index).Scale);
            return;
        }
        var (scale, zp) = GetOutputQuantization(index);
        Quantize.EvalS8ToF32(MemoryMarshal.Cast<byte, sbyte>(src), destination, scale, zp);
    }

    private void RequireInt8(int tensor, string name)
    {
        if (_tensors[tensor].Type != TensorType.Int8)
            throw new InvalidOperationException($"'{name}' is a {_tensors[tensor].Type} tensor; float conversion supports int8, int16 and float32 tensors");
    }

    /// <summary>Runs every op in order. Allocates nothing.</summary>
    /// <exception cref="InvalidOperationException">This thread's floating-point rounding mode is not the default (see <see cref="RequireRoundToNearest"/>).</exception>
    public void Invoke()
    {
        RequireRoundToNearest();
        for (int i = 0; i < _ops.Length; i++)
        {
            if (_pool is not null && _stageOfOp[i] >= 0 && _stagesEnd[_stageOfOp[i]] > 0)
            {
                int first = _stageOfOp[i], end = _stagesEnd[first];
                RunStages(first, end);
                i = _stageLast[end - 1];
                continue;
            }
            if (_pool is not null && _chainEnd[i] > i)
            {
                RunJob(i, _chainEnd[i], _chainParts[i]);
                i = _chainEnd[i];
                continue;
            }
            RunOp(i);
        }
    }

    /// <summary>Runs op <paramref name="index"/> only (for per-layer inspection).</summary>
    public void InvokeOp(int index)
    {
        RequireRoundToNearest();
        RunOp(index);
    }

    // The rounding-mode probe: 1 + 3 x 2^-25 (three quarters of the step to the next float32, 1 + 2^-23) rounds to 1 + 2^-23
    // to nearest and upward, to 1 downward and toward zero; 1 + 2^-25 (a quarter) to 1 in every mode but upward. Their
    // difference (exact) is 2^-23 to nearest only, zero in the three other modes. Static fields that are not readonly, so
    // that the JIT cannot fold the sums (the firmware's rounds_to_nearest makes the same two sums).
    private static float s_probeOne = 1f, s_probeThreeQuarters = 3f / 33554432f, s_probeQuarter = 1f / 33554432f;

    /// <summary>
    /// The kernels' float32 forms (requantization, Add/Sub, Concatenation and the float layers) give the reference's bytes
    /// under the default rounding mode only, round to nearest even, which .NET never changes; native code in the process
    /// can (fesetround, the MXCSR on x64, the FPCR on arm64), on the calling thread, and under FE_UPWARD most output bytes of
    /// the zoo models then differ (fashion_resnet 262 of 500 on Zen 5, BlazeFace 25,137 of 25,600). Checked at every Invoke
    /// (two additions and a subtraction): a clear error instead of wrong bytes.
    /// </summary>
    private static void RequireRoundToNearest()
    {
        if ((s_probeOne + s_probeThreeQuarters) - (s_probeOne + s_probeQuarter) != 1f / 8388608f)
            ThrowRoundingMode();
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void ThrowRoundingMode() => throw new InvalidOperationException(
        "this thread's floating-point rounding mode is not round-to-nearest-even (the MXCSR on x64, the FPCR on arm64): native code " +
        "in the process changed it (fesetround). EdgeQuant's kernels give the reference's bytes under the default mode only; " +
        "restore it (fesetround(FE_TONEAREST)) before Invoke.");

    private void RunOp(int index)
    {
        if (_pool is not null && _bands[index] > 1)
        {
            RunJob(index, index, _bands[index]);
            return;
        }
        _opIndex = index;
        Run(in _ops[index], _packed[index]);
    }

    /// <summary>
    /// Ops <paramref name="first"/>..<paramref name="last"/> (one split op, or a chain) as one job of
    /// <paramref name="parts"/> parts. When the workers have helped with none of the last <see cref="UnhelpedLimit"/>
    /// jobs (on a busy machine the scheduler may give them no CPU, or the caller's), the next <see cref="SoloJobs"/>
    /// jobs run as whole ops on the caller's thread (the same bytes, without the cost of parts nobody shares);
    /// then the workers are tried again.
    /// </summary>
    private void RunJob(int first, int last, int parts)
    {
        if (RanAlone(first, last)) return;
        _bandJob!.Op = first;
        _bandJob.Last = last;
        _bandJob.Bands = parts;
        HandOut(_bandJob, parts);
    }

    /// <summary>
    /// While jobs run on the caller alone (<see cref="RunJob"/>): ops <paramref name="first"/>..<paramref name="last"/> run
    /// whole here, and true.
    /// </summary>
    private bool RanAlone(int first, int last)
    {
        if (_soloJobs <= 0) return false;
        // Wake the (by now blocked) workers a few jobs before handing jobs out again, or the first ones would
        // find them still waking and count as not helped.
        if (--_soloJobs == UnhelpedLimit) _pool!.Wake();
        for (int k = first; k <= last; k++)
        {
            _opIndex = k;
            Run(in _ops[k], _packed[k]);
        }
        return true;
    }

    /// <summary>Runs <paramref name="job"/> on the pool and counts whether a worker helped (<see cref="RunJob"/>).</summary>
    private void HandOut(IParallelJob job, int parts)
    {
        if (_pool!.Run(job, parts)) _unhelped = 0;
        else if (++_unhelped >= UnhelpedLimit)
        {
            _unhelped = 0;
            _soloJobs = SoloJobs;
        }
    }

    /// <summary>
    /// The stages of the threads: every chain (<see cref="BuildChains"/>) and every split op outside a chain, in op order, and
    /// per stage whether a run of two or more consecutive stages starts there (the next stage's first op follows the last
    /// op of this one): such a run is one job (<see cref="StagedBands"/>), its stages separated by a wait for every part
    /// rather than a job hand-off each.
    /// </summary>
    private (int[] First, int[] Last, int[] Parts, int[] OfOp, int[] End) BuildStages()
    {
        var first = new List<int>();
        var last = new List<int>();
        var parts = new List<int>();
        var ofOp = new int[_ops.Length];
        System.Array.Fill(ofOp, -1);
        for (int i = 0; i < _ops.Length; i++)
        {
            if (_chainEnd[i] > i)
            {
                ofOp[i] = first.Count;
                first.Add(i); last.Add(_chainEnd[i]); parts.Add(_chainParts[i]);
                i = _chainEnd[i];
            }
            else if (_bands[i] > 1)
            {
                ofOp[i] = first.Count;
                first.Add(i); last.Add(i); parts.Add(_bands[i]);
            }
        }
        var end = new int[first.Count];
        for (int st = 0; st < first.Count; st++)
        {
            int e = st + 1;
            while (e < first.Count && first[e] == last[e - 1] + 1) e++;
            if (e - st >= 2)
            {
                end[st] = e;
                st = e - 1;
            }
        }
        return (first.ToArray(), last.ToArray(), parts.ToArray(), ofOp, end);
    }

    /// <summary>
    /// Stages [<paramref name="from"/>, <paramref name="to"/>) as one job (see <see cref="RunJob"/> for the caller alone).
    /// </summary>
    private void RunStages(int from, int to)
    {
        if (RanAlone(_stageFirst[from], _stageLast[to - 1])) return;
        _stagedJob!.Reset(from, to);
        HandOut(_stagedJob, _pool!.Threads);
    }

    /// <summary>
    /// The pool's job for a run of stages. Part k of every stage belongs to slot k, the pool part the caller (slot 0) or a
    /// worker claimed, so a thread computes the same rows in every stage and every Invoke and reads across the split only
    /// the halo rows of the other part. (Where parts went to whichever thread came first, half the stages read the whole
    /// tensor from the other core: on the Zen 5 hosts whose cores are 420-490 ns apart, two threads ran no faster than
    /// one.) Between two stages each slot writes how many stages it has finished to a word on its own cache line and reads
    /// the others': a store and a read per stage, no locked instruction on a line both threads write. At a stage's end the
    /// caller claims from the pool every slot of the stage that no worker has claimed yet and runs its parts from then on,
    /// so a worker that is slow to wake costs nothing. A part that throws ends the run: every thread stops at the next
    /// stage, and the pool passes the exception on.
    /// </summary>
    private sealed class StagedBands(Interpreter owner, int threads) : IParallelJob
    {
        // Per slot s, at [Stride s] on cache lines of its own: (run number << 16) | stages the slot has finished in the run.
        private const int Stride = 16;
        private readonly long[] _progress = new long[Stride * threads];
        private long _run;
        private int _from, _to;
        private volatile bool _failed;

        /// <summary>Prepares stages [from, to) as the next run; the pool's publishing of the job orders these writes before any worker reads them.</summary>
        public void Reset(int from, int to)
        {
            _run++;
            _from = from;
            _to = to;
            _failed = false;
        }

        public void RunPart(int slot, int slots)
        {
            long run = _run;
            long mine = 1L << slot;
            Exception? failure = null;
            for (int st = _from; st < _to && !_failed; st++)
            {
                int n = owner._stageParts[st];
                long finished = (run << 16) | (long)(st - _from + 1);
                for (int q = 0; q < slots; q++)
                {
                    if ((mine >> q & 1) == 0) continue;
                    if (q < n) RunStagePart(st, q, n, ref failure);
                    Volatile.Write(ref _progress[Stride * q], finished);
                }
                // Wait for the other slots of this stage (slots past the stage's parts have nothing in it).
                for (int q = 0; q < n && !_failed; q++)
                {
                    if ((mine >> q & 1) != 0) continue;
                    ref long progress = ref _progress[Stride * q];
                    if (slot == 0 && Volatile.Read(ref progress) < finished && owner._pool!.TryClaim(q))
                    {
                        // No worker has started slot q: it is the caller's from this stage on.
                        mine |= 1L << q;
                        RunStagePart(st, q, n, ref failure);
                        Volatile.Write(ref progress, finished);
                        continue;
                    }
                    for (int i = 1; Volatile.Read(ref progress) < finished && !_failed; i++)
                        WorkerPool.Pause(i);
                }
            }
            if (failure is not null)
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(failure);
        }

        private void RunStagePart(int st, int part, int parts, ref Exception? failure)
        {
            if (_failed) return;
            try
            {
                owner.RunOpsPart(owner._stageFirst[st], owner._stageLast[st], part, parts);
            }
            catch (Exception e)
            {
                failure ??= e;
                _failed = true;
            }
        }
    }

    /// <summary>The int8 bytes of an arena tensor, for inspection after <see cref="Invoke"/>.</summary>
    public ReadOnlySpan<sbyte> GetTensorS8(int tensorIndex) => S8(tensorIndex);

    private (float, int) QuantOf(int tensor)
    {
        int qi = _tensors[tensor].QuantIndex;
        if (qi < 0)
            throw new InvalidOperationException($"tensor {tensor} ({_tensors[tensor].Type}) has no quantization");
        return (_model.GetScale(qi), _model.Quantization[qi].ZeroPoint);
    }

    /// <summary>
    /// Runs one op. Each common op type has a method of its own that is never inlined here: one method holding them all
    /// had a 3.5 KB frame whose GC-tracked part (about 2.7 KB of span locals of every case) the JIT zeroed on every call,
    /// about a tenth of a small model's Invoke.
    /// </summary>
    private void Run(in OpInfo op, PackedFilter? packed)
    {
        switch (op.Type)
        {
            case OpType.Conv2D:
            case OpType.DepthwiseConv2D:
                RunConvolution(op, packed);
                break;
            case OpType.FullyConnected:
                RunFullyConnected(op, packed);
                break;
            case OpType.Add:
            case OpType.Sub:
                RunAddSub(op);
                break;
            case OpType.Mul:
                RunMul(op);
                break;
            case OpType.MaxPool2D:
                RunMaxPool(op);
                break;
            case OpType.AveragePool2D:
                RunAveragePool(op);
                break;
            case OpType.Mean:
                RunMean(op);
                break;
            case OpType.Concatenation:
                RunConcatenation(op);
                break;
            case OpType.Pad:
                RunPad(op);
                break;
            case OpType.Transpose:
                RunTranspose(op);
                break;
            case OpType.Reshape:
                RunReshape(op);
                break;
            default:
                RunOther(op, packed);
                break;
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void RunConvolution(in OpInfo op, PackedFilter? packed)
    {
        var p = _model.ReadParams<Conv2DParams>(op);
        EvalConvolution(op, packed, p, S8(op.Input0), _tensors[op.Input0].Shape, ArenaS8(op.Output0), _tensors[op.Output0].Shape,
            MemoryMarshal.Cast<byte, sbyte>(_arena.Span.Slice(op.ScratchOffset, op.ScratchBytes)));
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void RunFullyConnected(in OpInfo op, PackedFilter? packed)
    {
        var p = _model.ReadParams<FullyConnectedParams>(op);
        ref readonly var fT = ref _tensors[op.Input1];
        int cout = fT.Shape.D0, cin = fT.Shape.D1;
        int batches = _tensors[op.Input0].ElementCount / cin;
        var mult = ConstI32(p.MultipliersOffset, cout);
        var shift = ConstI32(p.ShiftsOffset, cout);
        if (_reference) FullyConnected.EvalS8Reference(p, S8(op.Input0), batches, cin, S8(op.Input1), cout, I32(op.Input2), mult, shift, ArenaS8(op.Output0));
        else FullyConnected.EvalS8(p, S8(op.Input0), batches, cin, S8(op.Input1), cout, I32(op.Input2), packed, mult, shift, ArenaS8(op.Output0));
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void RunAddSub(in OpInfo op)
    {
        var p = _model.ReadParams<ElementwiseParams>(op);
        bool sub = op.Type == OpType.Sub;
        if (_addAffines[_opIndex] is { } f) Elementwise.AddS8Affine(f, S8(op.Input0), S8(op.Input1), ArenaS8(op.Output0));
        else if (_addRequantizations[_opIndex] is { } q) Elementwise.AddS8Avx512(q, S8(op.Input0), S8(op.Input1), ArenaS8(op.Output0));
        else if (_addTables[_opIndex] is { } table) Elementwise.AddS8Table(table, S8(op.Input0), S8(op.Input1), ArenaS8(op.Output0));
        else if (_reference) Elementwise.AddS8Reference(p, S8(op.Input0), _tensors[op.Input0].Shape, S8(op.Input1), _tensors[op.Input1].Shape, ArenaS8(op.Output0), _tensors[op.Output0].Shape, sub);
        else Elementwise.AddS8(p, S8(op.Input0), _tensors[op.Input0].Shape, S8(op.Input1), _tensors[op.Input1].Shape, ArenaS8(op.Output0), _tensors[op.Output0].Shape, sub);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void RunMul(in OpInfo op)
    {
        var p = _model.ReadParams<ElementwiseParams>(op);
        if (_reference) Elementwise.MulS8Reference(p, S8(op.Input0), _tensors[op.Input0].Shape, S8(op.Input1), _tensors[op.Input1].Shape, ArenaS8(op.Output0), _tensors[op.Output0].Shape);
        else Elementwise.MulS8(p, S8(op.Input0), _tensors[op.Input0].Shape, S8(op.Input1), _tensors[op.Input1].Shape, ArenaS8(op.Output0), _tensors[op.Output0].Shape);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void RunMaxPool(in OpInfo op)
    {
        var p = _model.ReadParams<PoolParams>(op);
        if (_reference) Pooling.MaxS8Reference(p, S8(op.Input0), _tensors[op.Input0].Shape, ArenaS8(op.Output0), _tensors[op.Output0].Shape);
        else Pooling.MaxS8(p, S8(op.Input0), _tensors[op.Input0].Shape, ArenaS8(op.Output0), _tensors[op.Output0].Shape);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void RunAveragePool(in OpInfo op)
    {
        var p = _model.ReadParams<PoolParams>(op);
        if (_reference) Pooling.AverageS8Reference(p, S8(op.Input0), _tensors[op.Input0].Shape, ArenaS8(op.Output0), _tensors[op.Output0].Shape);
        else Pooling.AverageS8(p, S8(op.Input0), _tensors[op.Input0].Shape, ArenaS8(op.Output0), _tensors[op.Output0].Shape);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void RunMean(in OpInfo op)
    {
        var p = _model.ReadParams<MeanParams>(op);
        if (_reference) Mean.EvalS8Reference(p, S8(op.Input0), _tensors[op.Input0].Shape, ArenaS8(op.Output0));
        else Mean.EvalS8(p, S8(op.Input0), _tensors[op.Input0].Shape, ArenaS8(op.Output0));
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void RunConcatenation(in OpInfo op)
    {
        var p = _model.ReadParams<ConcatParams>(op);
        var outShape = _tensors[op.Output0].Shape;
        if (!_reference && IsChannelConcat(op, p, outShape))
        {
            ConcatRows(_opIndex, p, 0, outShape.D1);
            return;
        }
        var output = ArenaS8(op.Output0);
        int axisOffset = 0;
        for (int k = 0; k < op.InputCount; k++)
        {
            ref readonly var t = ref _tensors[op.Input(k)];
            ConcatInputInto(_opIndex, p, k, 0, t.ElementCount, t.Shape, output, outShape, axisOffset);
            axisOffset += t.Shape[p.Axis];
        }
    }

    /// <summary>Whether Concatenation input <paramref name="k"/> of op <paramref name="index"/> is copied: the output's quantization, or a prepared constant.</summary>
    private bool ConcatCopied(int index, in ConcatParams p, int k) => ConcatInput(p, k).Multiplier == 0 || _concatConstants[index]?[k] is not null;

    /// <summary>
    /// Where input <paramref name="k"/> of channel Concatenation <paramref name="index"/> is read from pixel
    /// <paramref name="pixel"/> on (to its end: the wide moves may read past the band), and its elements per pixel
    /// (0 for a uniform constant).
    /// </summary>
    private void ConcatSource(int index, int k, int pixel, out ReadOnlySpan<sbyte> source, out int step)
    {
        int t = _ops[index].Input(k);
        int c = _tensors[t].Shape.D3;
        if (_concatConstants[index]?[k] is { } constant)
        {
            step = constant.Uniform ? 0 : c;
            source = constant.Uniform ? constant.Bytes : constant.Bytes.AsSpan(pixel * c);
            return;
        }
        step = c;
        source = S8(t).Slice(pixel * c);
    }

    /// <summary>Whether Concatenation <paramref name="op"/> joins int8 channels of batch-1 tensors of one height and width (<see cref="ConcatRows"/>).</summary>
    private bool IsChannelConcat(in OpInfo op, in ConcatParams p, in Shape4 oS)
    {
        if (p.Axis != 3 || oS.D0 != 1 || _tensors[op.Output0].Type != TensorType.Int8) return false;
        for (int k = 0; k < op.InputCount; k++)
        {
            ref readonly var t = ref _tensors[op.Input(k)];
            if (t.Type != TensorType.Int8 || t.Shape.D0 != 1 || t.Shape.D1 != oS.D1 || t.Shape.D2 != oS.D2) return false;
        }
        return true;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void RunPad(in OpInfo op)
    {
        Kernels.Pad.EvalS8(_model.ReadParams<PadParams>(op), S8(op.Input0), _tensors[op.Input0].Shape, ArenaS8(op.Output0), _tensors[op.Output0].Shape);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void RunTranspose(in OpInfo op)
    {
        Kernels.Transpose.EvalS8(_model.ReadParams<TransposeParams>(op), S8(op.Input0), _tensors[op.Input0].Shape, ArenaS8(op.Output0), _tensors[op.Output0].Shape);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void RunReshape(in OpInfo op)
    {
        ref readonly var i = ref _tensors[op.Input0];
        ref readonly var o = ref _tensors[op.Output0];
        if (i.Storage != TensorStorage.Arena || i.Offset != o.Offset)
            Bytes(op.Input0).CopyTo(_arena.Span.Slice(o.Offset, o.ByteLength));
    }

    /// <summary>The op types without a method of their own in <see cref="Run"/>.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void RunOther(in OpInfo op, PackedFilter? packed)
    {
        switch (op.Type)
        {
            case OpType.Softmax:
            {
                var p = _model.ReadParams<SoftmaxParams>(op);
                ref readonly var t = ref _tensors[op.Input0];
                int depth = t.Shape[t.Rank - 1];
                Kernels.Softmax.EvalS8(S8(op.Input0), ArenaS8(op.Output0), t.ElementCount / depth, depth, ConstI32(p.ExpTableOffset, 256));
                break;
            }
            case OpType.Logistic:
            case OpType.Tanh:
            case OpType.Lookup:
            {
                var p = _model.ReadParams<LookupParams>(op);
                Kernels.Lookup.EvalS8(S8(op.Input0), ArenaS8(op.Output0), MemoryMarshal.Cast<byte, sbyte>(_model.ConstantData.Slice(p.TableOffset, 256)));
                break;
            }
            case OpType.IndexSelect:
            {
                var p = _model.ReadParams<IndexSelectParams>(op);
                ref readonly var o = ref _tensors[op.Output0];
                var t0 = ConstI32(p.Table0Offset, o.Shape.D0);
                var t1 = ConstI32(p.Table1Offset, o.Shape.D1);
                var t2 = ConstI32(p.Table2Offset, o.Shape.D2);
                var t3 = ConstI32(p.Table3Offset, o.Shape.D3);
                if (_reference) Kernels.IndexSelect.EvalS8Reference(p, S8(op.Input0), _tensors[op.Input0].Shape, ArenaS8(op.Output0), o.Shape, t0, t1, t2, t3);
                else Kernels.IndexSelect.EvalS8(p, S8(op.Input0), _tensors[op.Input0].Shape, ArenaS8(op.Output0), o.Shape, t0, t1, t2, t3);
                break;
            }
            case OpType.BatchMatMul:
            {
                var p = _model.ReadParams<BatchMatMulParams>(op);
                if (_reference) BatchMatMul.EvalS8Reference(p, S8(op.Input0), _tensors[op.Input0].Shape, S8(op.Input1), _tensors[op.Input1].Shape, ArenaS8(op.Output0), _tensors[op.Output0].Shape);
                else BatchMatMul.EvalS8(p, S8(op.Input0), _tensors[op.Input0].Shape, S8(op.Input1), _tensors[op.Input1].Shape, ArenaS8(op.Output0), _tensors[op.Output0].Shape);
                break;
            }
            case OpType.ArgMax:
            {
                var p = _model.ReadParams<ArgMaxParams>(op);
                if (_reference) Kernels.ArgMax.EvalS8Reference(p, S8(op.Input0), _tensors[op.Input0].Shape, ArenaS8(op.Output0));
                else Kernels.ArgMax.EvalS8(p, S8(op.Input0), _tensors[op.Input0].Shape, ArenaS8(op.Output0));
                break;
            }
            case OpType.Lstm:
            case OpType.Gru:
            {
                var p = _model.ReadParams<RecurrentParams>(op);
                int rows = _tensors[op.Input1].Shape.D0 * _tensors[op.Input1].Shape.D1;
                var scratch = _arena.Span.Slice(op.ScratchOffset, op.ScratchBytes);
                bool lstm = op.Type == OpType.Lstm;
                if (_reference)
                    Recurrent.EvalS8Reference(lstm, p, S8(op.Input0), _tensors[op.Input0].Shape, S8(op.Input1), S8(op.Input2), I32(op.Input3),
                        ConstI32(p.InputMultipliersOffset, rows), ConstI32(p.InputShiftsOffset, rows), ConstI32(p.RecurrentMultipliersOffset, rows), ConstI32(p.RecurrentShiftsOffset, rows),
                        ArenaS8(op.Output0), scratch);
                else
                    Recurrent.EvalS8(lstm, p, S8(op.Input0), _tensors[op.Input0].Shape, S8(op.Input1), S8(op.Input2), I32(op.Input3),
                        ConstI32(p.InputMultipliersOffset, rows), ConstI32(p.InputShiftsOffset, rows), ConstI32(p.RecurrentMultipliersOffset, rows), ConstI32(p.RecurrentShiftsOffset, rows),
                        ArenaS8(op.Output0), scratch);
                break;
            }
            case OpType.LstmPacked:
            case OpType.GruPacked:
            {
                var p = _model.ReadParams<RecurrentPackedParams>(op).AsRecurrentParams();
                var a = _recurrentPacked[_opIndex]!;
                var scratch = _arena.Span.Slice(op.ScratchOffset, op.ScratchBytes);
                bool lstm = op.Type == OpType.LstmPacked;
                if (_reference)
                    Recurrent.EvalS8Int4Reference(lstm, p, S8(op.Input0), _tensors[op.Input0].Shape, Bytes(op.Input1), Bytes(op.Input2), a.PreBias, a.PostBias,
                        a.InputMultipliers, a.InputShifts, a.RecurrentMultipliers, a.RecurrentShifts, ArenaS8(op.Output0), scratch);
                else
                    Recurrent.EvalS8Int4(lstm, p, S8(op.Input0), _tensors[op.Input0].Shape, Bytes(op.Input1), Bytes(op.Input2), a.PreBias, a.PostBias,
                        a.InputMultipliers, a.InputShifts, a.RecurrentMultipliers, a.RecurrentShifts, ArenaS8(op.Output0), scratch);
                break;
            }
            case OpType.DynamicConv2D:
            case OpType.DynamicDepthwiseConv2D:
            case OpType.DynamicFullyConnected:
            case OpType.MaxPool2DF32:
            case OpType.MeanF32:
            case OpType.AddF32:
            case OpType.TransposeF32:
                RunDynamic(in op);
                break;
            case OpType.Quantize:
            {
                var p = _model.ReadParams<QuantizeParams>(op);
                Kernels.Quantize.EvalF32ToS8(MemoryMarshal.Cast<byte, float>(Bytes(op.Input0)), ArenaS8(op.Output0), p.Scale, p.ZeroPoint);
                break;
            }
            case OpType.Conv2DCompressed:
            case OpType.DepthwiseConv2DCompressed:
            case OpType.FullyConnectedCompressed:
            case OpType.Conv2DSparse:
            case OpType.FullyConnectedSparse:
            case OpType.Conv2DCompressedPacked:
            case OpType.DepthwiseConv2DCompressedPacked:
            case OpType.FullyConnectedCompressedPacked:
                RunCompressed(op);
                break;
            case OpType.Conv2DS16:
            case OpType.DepthwiseConv2DS16:
            case OpType.FullyConnectedS16:
            case OpType.AddS16:
            case OpType.MaxPool2DS16:
            case OpType.MeanS16:
            case OpType.Conv2DF32:
            case OpType.DepthwiseConv2DF32:
            case OpType.FullyConnectedF32:
            case OpType.QuantizeS16:
            case OpType.DequantizeS16:
            case OpType.Requantize:
                RunMixed(in op);
                break;
            case OpType.Dequantize:
            {
                var p = _model.ReadParams<QuantizeParams>(op);
                ref readonly var o = ref _tensors[op.Output0];
                Kernels.Quantize.EvalS8ToF32(S8(op.Input0), MemoryMarshal.Cast<byte, float>(_arena.Span.Slice(o.Offset, o.ByteLength)), p.Scale, p.ZeroPoint);
                break;
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ReadOnlySpan<byte> Bytes(int tensor)
    {
        ref readonly var t = ref _tensors[tensor];
        return t.Storage == TensorStorage.Arena
            ? _arena.Span.Slice(t.Offset, t.ByteLength)
            : _model.ConstantData.Slice(t.Offset, t.ByteLength);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ReadOnlySpan<sbyte> S8(int tensor) => MemoryMarshal.Cast<byte, sbyte>(Bytes(tensor));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ReadOnlySpan<int> I32(int tensor) => MemoryMarshal.Cast<byte, int>(Bytes(tensor));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private Span<sbyte> ArenaS8(int tensor)
    {
        ref readonly var t = ref _tensors[tensor];
        return MemoryMarshal.Cast<byte, sbyte>(_arena.Span.Slice(t.Offset, t.ByteLength));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ReadOnlySpan<int> ConstI32(int offset, int count) => MemoryMarshal.Cast<byte, int>(_model.ConstantData.Slice(offset, count * 4));
}
