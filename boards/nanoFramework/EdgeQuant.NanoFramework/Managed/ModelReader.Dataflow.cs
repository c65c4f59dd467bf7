namespace EdgeQuant.NanoFramework.Managed
{
    // Every tensor is produced before it is read, and no two buffers live at the same op step share
    // arena bytes (Model.ValidateDataflowAndPlan in the C# runtime).
    internal sealed partial class ModelReader
    {
        private const int Unwritten = int.MinValue;

        private void ValidateDataflowAndPlan()
        {
            int n = Tensors.Length;
            int[] producer = new int[n];
            int[] lastUse = new int[n];
            int[] alias = new int[n];
            for (int t = 0; t < n; t++) { producer[t] = Unwritten; lastUse[t] = -1; alias[t] = t; }
            for (int k = 0; k < Inputs.Length; k++) producer[Inputs[k]] = -1;
            for (int i = 0; i < Ops.Length; i++)
            {
                OpRecord op = Ops[i];
                string where = "section Ops, record " + i + " (" + Format.OpName(op.Type) + ")";
                for (int k = 0; k < op.InputCount; k++)
                {
                    int t = op.Inputs[k];
                    if (Tensors[t].Storage == Format.Constant) continue;
                    if (producer[t] == Unwritten)
                        throw Bad(where + ": input tensor " + t + " is read before any op writes it and is not a model input");
                    lastUse[t] = i;
                }
                for (int k = 0; k < op.OutputCount; k++)
                {
                    int t = op.Outputs[k];
                    if (Tensors[t].Storage != Format.Arena)
                        throw Bad(where + ": output tensor " + t + " is a constant");
                    if (producer[t] != Unwritten)
                        throw Bad(where + ": output tensor " + t + " is already written by " + (producer[t] < 0 ? "the model input" : "op " + producer[t]));
                    producer[t] = i;
                }
                if (op.Type == Format.Reshape && Tensors[op.Outputs[0]].Offset == Tensors[op.Inputs[0]].Offset)
                    alias[op.Outputs[0]] = Root(alias, op.Inputs[0]);
            }
            for (int k = 0; k < Outputs.Length; k++)
            {
                int t = Outputs[k];
                if (producer[t] == Unwritten)
                    throw Bad("section IO: output " + k + " (tensor " + t + ") is never written");
                lastUse[t] = Ops.Length;
            }

            int[] first = new int[n];
            int[] last = new int[n];
            for (int t = 0; t < n; t++) { first[t] = int.MaxValue; last[t] = int.MinValue; }
            for (int t = 0; t < n; t++)
            {
                if (Tensors[t].Storage != Format.Arena || producer[t] == Unwritten) continue;
                int r = Root(alias, t);
                first[r] = QuantMath.Min(first[r], producer[t]);
                last[r] = QuantMath.Max(last[r], QuantMath.Max(lastUse[t], producer[t]));
            }

            // Buffers: live tensors (alias roots) then op scratch areas.
            int count = 0;
            int[] bStart = new int[n + Ops.Length], bEnd = new int[n + Ops.Length], bFirst = new int[n + Ops.Length], bLast = new int[n + Ops.Length], bWhat = new int[n + Ops.Length];
            for (int t = 0; t < n; t++)
            {
                if (alias[t] != t && Root(alias, t) != t)
                {
                    TensorRecord a = Tensors[t], root = Tensors[Root(alias, t)];
                    if (a.ByteLength != root.ByteLength) throw Bad("section Tensors: reshape alias tensor " + t + " has " + a.ByteLength + " bytes, its source " + root.ByteLength);
                    continue;
                }
                if (first[t] == int.MaxValue) continue;
                bStart[count] = Tensors[t].Offset; bEnd[count] = Tensors[t].Offset + Tensors[t].ByteLength;
                bFirst[count] = first[t]; bLast[count] = last[t]; bWhat[count] = t;
                count++;
            }
            for (int i = 0; i < Ops.Length; i++)
            {
                if (Ops[i].ScratchBytes <= 0) continue;
                bStart[count] = Ops[i].ScratchOffset; bEnd[count] = Ops[i].ScratchOffset + Ops[i].ScratchBytes;
                bFirst[count] = i; bLast[count] = i; bWhat[count] = -1 - i;
                count++;
            }
            for (int x = 0; x < count; x++)
                for (int y = x + 1; y < count; y++)
                    if (bStart[x] < bEnd[y] && bStart[y] < bEnd[x] && bFirst[x] <= bLast[y] && bFirst[y] <= bLast[x])
                        throw Bad("section MemoryPlan: " + What(bWhat[x]) + " (arena [" + bStart[x] + ", " + bEnd[x] + "), ops " + bFirst[x] + ".." + bLast[x] + ") overlaps "
                            + What(bWhat[y]) + " (arena [" + bStart[y] + ", " + bEnd[y] + "), ops " + bFirst[y] + ".." + bLast[y] + ") while both are live");
        }

        private static string What(int code)
        {
            return code >= 0 ? "tensor " + code : "scratch of op " + (-1 - code);
        }

        private static int Root(int[] alias, int t)
        {
            int guard = 0;
            while (alias[t] != t && guard++ < alias.Length) t = alias[t];
            return t;
        }
    }
}
