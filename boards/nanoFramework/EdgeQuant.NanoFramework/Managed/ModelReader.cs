namespace EdgeQuant.NanoFramework.Managed
{
    /// <summary>
    /// Reads and validates an .eqm blob held in a byte array, enforcing the rules of the C# reader
    /// (runtime/EdgeQuant.Runtime/Model.cs, Format/OpValidator.cs; docs/format.md section 8) so that a
    /// model that loads can always run. Nothing is copied: the kernels read weights from the blob.
    /// </summary>
    internal sealed partial class ModelReader
    {
        public readonly byte[] Blob;
        public int VersionMajor, VersionMinor;
        public int ArenaBytes, ArenaLowerBoundBytes;
        /// <summary>Absolute offset and length of the ConstantData section.</summary>
        public int ConstOffset, ConstBytes;
        public TensorRecord[] Tensors;
        public QuantRecord[] Quant;
        public OpRecord[] Ops;
        public int[] Inputs;
        public int[] Outputs;

        private readonly int[] _secOff = new int[10];
        private readonly int[] _secLen = new int[10];
        private readonly int[] _secCount = new int[10];

        /// <param name="blob">The .eqm bytes, kept (not copied) by the reader.</param>
        /// <param name="maxArenaBytes">Largest arena the blob may ask for (the device's heap budget).</param>
        /// <param name="skipCrc">Skip the CRC (blobs patched in place on purpose).</param>
        public ModelReader(byte[] blob, int maxArenaBytes, bool skipCrc)
        {
            if (blob == null) throw new System.ArgumentNullException("blob");
            Blob = blob;
            ReadHeaderAndSections(skipCrc);
            ReadPlan(maxArenaBytes);
            ReadQuantization();
            ReadTensors();
            ReadIo();
            ReadMetadata();
            ReadOps();
            ValidateDataflowAndPlan();
        }

        public float Scale(int quantIndex, int channel)
        {
            return Le.F32(Blob, ConstOffset + Quant[quantIndex].ScalesOffset + 4 * channel);
        }

        public QuantRecord QuantOf(int tensor)
        {
            return Quant[Tensors[tensor].QuantIndex];
        }

        /// <summary>Int32 word <paramref name="index"/> of an op's parameter record.</summary>
        public int P(OpRecord op, int index)
        {
            return Le.I32(Blob, op.ParamsOffset + 4 * index);
        }

        public static InvalidModelException Bad(string message)
        {
            return new InvalidModelException("Invalid EdgeQuant model: " + message);
        }

        private void ReadHeaderAndSections(bool skipCrc)
        {
            byte[] b = Blob;
            if (b.Length < Format.HeaderBytes)
                throw Bad("blob is " + b.Length + " bytes, shorter than the " + Format.HeaderBytes + "-byte header");
            uint magic = Le.U32(b, 0);
            if (magic != Format.Magic)
                throw Bad("header, byte 0: magic is 0x" + magic.ToString("X8") + ", expected 0x424D5145 (\"EQMB\"); not an EdgeQuant model");
            VersionMajor = Le.U16(b, 4);
            VersionMinor = Le.U16(b, 6);
            if (VersionMajor != Format.VersionMajor)
                throw Bad("header, byte 4: format version " + VersionMajor + "." + VersionMinor + " is not supported; this runtime reads 1.x");
            uint declared = Le.U32(b, 8);
            if (declared != (uint)b.Length)
                throw Bad("header, byte 8: blob size field says " + declared + " bytes but " + b.Length + " bytes were given (truncated or padded file)");
            if (!skipCrc)
            {
                uint crc = Le.U32(b, 12);
                uint actual = Crc32.Compute(b, Format.CrcStart, b.Length - Format.CrcStart);
                if (crc != actual)
                    throw Bad("header, byte 12: CRC32 mismatch (stored 0x" + crc.ToString("X8") + ", computed 0x" + actual.ToString("X8") + "); the blob is corrupt");
            }
            uint sectionCount = Le.U32(b, 16);
            uint tableOffset = Le.U32(b, 20);
            if (sectionCount == 0 || sectionCount > Format.MaxSections)
                throw Bad("header, byte 16: section count " + sectionCount + " is outside [1, " + Format.MaxSections + "]");
            if (tableOffset < Format.HeaderBytes || (long)tableOffset + sectionCount * Format.SectionEntryBytes > b.Length)
                throw Bad("header, byte 20: section table at " + tableOffset + " with " + sectionCount + " entries does not fit in the " + b.Length + "-byte blob");

            for (int k = 0; k < 10; k++) _secOff[k] = -1;
            long tableEnd = tableOffset + sectionCount * Format.SectionEntryBytes;
            long[] starts = new long[sectionCount];
            long[] ends = new long[sectionCount];
            uint[] kinds = new uint[sectionCount];
            for (int s = 0; s < (int)sectionCount; s++)
            {
                int e = (int)tableOffset + s * Format.SectionEntryBytes;
                uint kind = Le.U32(b, e), off = Le.U32(b, e + 4), len = Le.U32(b, e + 8), cnt = Le.U32(b, e + 12);
                string where = "section table entry " + s + " (byte " + e + ")";
                if (off % Format.Alignment != 0)
                    throw Bad(where + ": section kind " + kind + " offset " + off + " is not 16-byte aligned");
                if (off < tableEnd || (long)off + len > b.Length)
                    throw Bad(where + ": section kind " + kind + " range [" + off + ", " + ((long)off + len) + ") is outside the blob's data area [" + tableEnd + ", " + b.Length + ")");
                for (int r = 0; r < s; r++)
                    if (off < ends[r] && starts[r] < (long)off + len)
                        throw Bad(where + ": section kind " + kind + " overlaps section kind " + kinds[r]);
                starts[s] = off;
                ends[s] = (long)off + len;
                kinds[s] = kind;
                if (kind == 0 || kind > 9)
                    continue; // Unknown kinds from a newer minor version are ignored.
                if (_secOff[kind] >= 0)
                    throw Bad(where + ": section kind " + Format.SectionName((int)kind) + " appears twice");
                _secOff[kind] = (int)off;
                _secLen[kind] = (int)len;
                _secCount[kind] = cnt > int.MaxValue ? int.MaxValue : (int)cnt;
            }
            if (_secOff[Format.ConstantData] < 0) throw Bad("section ConstantData is missing");
            ConstOffset = _secOff[Format.ConstantData];
            ConstBytes = _secLen[Format.ConstantData];
        }

        /// <summary>Record count of a section, checking count x size = length; -1 when an optional section is absent.</summary>
        private int Section(int kind, int recordSize, bool required)
        {
            if (_secOff[kind] < 0)
            {
                if (required) throw Bad("section " + Format.SectionName(kind) + " is missing");
                return -1;
            }
            int count = _secCount[kind];
            if (recordSize > 0 && (long)count * recordSize != _secLen[kind])
                throw Bad("section " + Format.SectionName(kind) + " at byte " + _secOff[kind] + ": " + count + " records of " + recordSize + " bytes need " + ((long)count * recordSize) + " bytes, the section has " + _secLen[kind]);
            return count;
        }

        private void ReadPlan(int maxArenaBytes)
        {
            int n = Section(Format.MemoryPlan, Format.PlanRecord, true);
            if (n != 1) throw Bad("section MemoryPlan at byte " + _secOff[Format.MemoryPlan] + ": expected 1 record, found " + n);
            int o = _secOff[Format.MemoryPlan];
            uint arena = Le.U32(Blob, o), lower = Le.U32(Blob, o + 4);
            if (arena > (uint)maxArenaBytes)
                throw Bad("section MemoryPlan: arena of " + arena + " bytes exceeds the limit of " + maxArenaBytes + " bytes");
            if (lower > arena)
                throw Bad("section MemoryPlan: lower bound " + lower + " exceeds the arena size " + arena);
            ArenaBytes = (int)arena;
            ArenaLowerBoundBytes = (int)lower;
        }

        private void ReadQuantization()
        {
            int n = Section(Format.Quantization, Format.QuantRecord, false);
            if (n < 0) n = 0;
            Quant = new QuantRecord[n];
            for (int i = 0; i < n; i++)
            {
                int r = _secOff[Format.Quantization] + i * Format.QuantRecord;
                string where = "section Quantization, record " + i + " (byte " + r + ")";
                uint ch = Le.U32(Blob, r);
                int zp = Le.I32(Blob, r + 4);
                uint so = Le.U32(Blob, r + 8);
                int qd = Le.I32(Blob, r + 12);
                if (ch == 0 || ch > 65536) throw Bad(where + ": channel count " + ch + " is outside [1, 65536]");
                if (zp < -128 || zp > 127) throw Bad(where + ": zero point " + zp + " is outside the int8 range");
                if (so % 4 != 0 || (long)so + 4L * ch > ConstBytes)
                    throw Bad(where + ": scales at constant offset " + so + " (x" + ch + ") are misaligned or outside the " + ConstBytes + "-byte constant data");
                if (qd < -1 || qd > 3 || (ch > 1 && qd < 0)) throw Bad(where + ": quantized dimension " + qd + " is invalid for " + ch + " channels");
                for (int c = 0; c < (int)ch; c++)
                {
                    float s = Le.F32(Blob, ConstOffset + (int)so + 4 * c);
                    if (!(s > 0) || !Le.IsFinite(s)) throw Bad(where + ": scale " + c + " is " + s + "; scales must be positive and finite");
                }
                QuantRecord q = new QuantRecord();
                q.ChannelCount = (int)ch;
                q.ZeroPoint = zp;
                q.ScalesOffset = (int)so;
                q.QuantizedDimension = qd;
                Quant[i] = q;
            }
        }

        private void ReadTensors()
        {
            int n = Section(Format.Tensors, Format.TensorRecord, true);
            if (n > Format.MaxTensors) throw Bad("section Tensors: " + n + " tensors exceed the limit of " + Format.MaxTensors);
            Tensors = new TensorRecord[n];
            for (int i = 0; i < n; i++)
            {
                int r = _secOff[Format.Tensors] + i * Format.TensorRecord;
                string where = "section Tensors, record " + i + " (byte " + r + ")";
                TensorRecord t = new TensorRecord();
                t.Type = Blob[r];
                t.Rank = Blob[r + 1];
                t.Storage = Blob[r + 2];
                int es = Format.ElementSize(t.Type);
                if (es == 0) throw Bad(where + ": unknown element type " + t.Type);
                if (t.Rank < 1 || t.Rank > 4) throw Bad(where + ": rank " + t.Rank + " is outside [1, 4]");
                if (t.Storage != Format.Arena && t.Storage != Format.Constant) throw Bad(where + ": unknown storage " + t.Storage);
                long elems = 1;
                for (int k = 0; k < 4; k++)
                {
                    int d = Le.I32(Blob, r + 4 + 4 * k);
                    if (k >= t.Rank && d != 1) throw Bad(where + ": unused dimension " + k + " is " + d + ", must be 1");
                    if (d < 1 || d > (1 << 24)) throw Bad(where + ": dimension " + k + " is " + d + ", outside [1, 2^24]");
                    elems *= d;
                    if (elems > int.MaxValue / 4) throw Bad(where + ": element count overflows");
                    t.Dims[k] = d;
                }
                uint off = Le.U32(Blob, r + 20), len = Le.U32(Blob, r + 24);
                int qi = Le.I32(Blob, r + 28);
                if (len != elems * es) throw Bad(where + ": byte length " + len + " does not match " + elems + " elements of type " + t.Type + " (" + (elems * es) + " bytes)");
                if (off % Format.Alignment != 0) throw Bad(where + ": data offset " + off + " is not 16-byte aligned");
                long limit = t.Storage == Format.Constant ? ConstBytes : ArenaBytes;
                if ((long)off + len > limit)
                    throw Bad(where + ": data [" + off + ", " + ((long)off + len) + ") is outside the " + (t.Storage == Format.Constant ? "constant data" : "arena") + " of " + limit + " bytes");
                if (qi < -1 || qi >= Quant.Length) throw Bad(where + ": quantization index " + qi + " is outside [-1, " + Quant.Length + ")");
                if (t.Type == Format.Int8 && qi < 0) throw Bad(where + ": int8 tensor has no quantization");
                if (qi >= 0)
                {
                    QuantRecord q = Quant[qi];
                    if (q.ChannelCount > 1 && (q.QuantizedDimension >= t.Rank || t.Dims[q.QuantizedDimension] != q.ChannelCount))
                        throw Bad(where + ": per-channel quantization with " + q.ChannelCount + " channels on dimension " + q.QuantizedDimension + " does not match the shape");
                }
                t.Offset = (int)off;
                t.ByteLength = (int)len;
                t.QuantIndex = qi;
                Tensors[i] = t;
            }
        }

        private void CheckString(uint off, uint len, string where)
        {
            int stringsLen = _secOff[Format.Strings] < 0 ? 0 : _secLen[Format.Strings];
            if ((long)off + len > stringsLen) throw Bad(where + ": string [" + off + ", " + ((long)off + len) + ") is outside the " + stringsLen + "-byte Strings section");
            if (len > 1 << 20) throw Bad(where + ": string of " + len + " bytes is too long");
        }

        private void ReadIo()
        {
            int n = Section(Format.IO, Format.IoRecord, true);
            int ins = 0, outs = 0;
            for (int pass = 0; pass < 2; pass++)
            {
                if (pass == 1)
                {
                    if (ins == 0 || outs == 0) throw Bad("section IO: a model needs at least one input and one output");
                    Inputs = new int[ins];
                    Outputs = new int[outs];
                    ins = 0;
                    outs = 0;
                }
                for (int i = 0; i < n; i++)
                {
                    int r = _secOff[Format.IO] + i * Format.IoRecord;
                    string where = "section IO, record " + i + " (byte " + r + ")";
                    int ti = Le.I32(Blob, r);
                    int dir = Blob[r + 12], layout = Blob[r + 13];
                    if (pass == 0)
                    {
                        CheckString(Le.U32(Blob, r + 4), Le.U32(Blob, r + 8), where);
                        if (ti < 0 || ti >= Tensors.Length) throw Bad(where + ": tensor index " + ti + " is outside [0, " + Tensors.Length + ")");
                        if (Tensors[ti].Storage != Format.Arena) throw Bad(where + ": input/output tensor " + ti + " is not in the arena");
                        if (dir > 1) throw Bad(where + ": direction " + dir + " is neither 0 (input) nor 1 (output)");
                        if (layout > 1) throw Bad(where + ": unknown source layout " + layout);
                        if (layout == 1 && Tensors[ti].Rank != 4) throw Bad(where + ": NCHW source layout on a rank-" + Tensors[ti].Rank + " tensor");
                        if (dir == 0) ins++; else outs++;
                    }
                    else if (dir == 0) Inputs[ins++] = ti;
                    else Outputs[outs++] = ti;
                }
            }
        }

        private void ReadMetadata()
        {
            int n = Section(Format.Metadata, Format.MetadataRecord, false);
            for (int i = 0; i < n; i++)
            {
                int r = _secOff[Format.Metadata] + i * Format.MetadataRecord;
                string where = "section Metadata, record " + i;
                CheckString(Le.U32(Blob, r), Le.U32(Blob, r + 4), where);
                CheckString(Le.U32(Blob, r + 8), Le.U32(Blob, r + 12), where);
            }
        }

        private void ReadOps()
        {
            int n = Section(Format.Ops, Format.OpRecord, true);
            if (n == 0 || n > Format.MaxOps) throw Bad("section Ops: " + n + " ops is outside [1, " + Format.MaxOps + "]");
            int paramsLen = _secOff[Format.OpParams] < 0 ? 0 : _secLen[Format.OpParams];
            int paramsBase = _secOff[Format.OpParams];
            Ops = new OpRecord[n];
            for (int i = 0; i < n; i++)
            {
                int r = _secOff[Format.Ops] + i * Format.OpRecord;
                string where = "section Ops, record " + i + " (byte " + r + ")";
                OpRecord op = new OpRecord();
                op.Type = Le.U16(Blob, r);
                op.InputCount = Blob[r + 2];
                op.OutputCount = Blob[r + 3];
                if (op.InputCount > 4 || op.OutputCount < 1 || op.OutputCount > 2)
                    throw Bad(where + ": " + op.InputCount + " inputs / " + op.OutputCount + " outputs exceed the record's capacity");
                for (int k = 0; k < 6; k++)
                {
                    int v = Le.I32(Blob, r + 4 + 4 * k);
                    bool used = k < 4 ? k < op.InputCount : k - 4 < op.OutputCount;
                    if (used && (v < 0 || v >= Tensors.Length)) throw Bad(where + ": tensor index " + v + " in slot " + k + " is outside [0, " + Tensors.Length + ")");
                    if (!used && v != -1) throw Bad(where + ": unused slot " + k + " holds " + v + ", must be -1");
                    if (k < 4) op.Inputs[k] = v; else op.Outputs[k - 4] = v;
                }
                uint po = Le.U32(Blob, r + 28), pl = Le.U32(Blob, r + 32), so = Le.U32(Blob, r + 36), sl = Le.U32(Blob, r + 40);
                if (po % 4 != 0 || (long)po + pl > paramsLen)
                    throw Bad(where + ": parameters [" + po + ", " + ((long)po + pl) + ") are misaligned or outside the " + paramsLen + "-byte OpParams section");
                if ((long)so + sl > ArenaBytes || (sl > 0 && so % Format.Alignment != 0))
                    throw Bad(where + ": scratch [" + so + ", " + ((long)so + sl) + ") is misaligned or outside the " + ArenaBytes + "-byte arena");
                op.ParamsOffset = pl == 0 ? 0 : paramsBase + (int)po;
                op.ParamsBytes = (int)pl;
                op.ScratchOffset = (int)so;
                op.ScratchBytes = (int)sl;
                Ops[i] = op;
                ValidateOp(op, where + " (" + Format.OpName(op.Type) + ")");
            }
        }
    }
}
