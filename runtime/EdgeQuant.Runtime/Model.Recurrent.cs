using EdgeQuant.Runtime.Format;

namespace EdgeQuant.Runtime;

/// <summary>The int32 arrays the recurrent kernels read for one LstmPacked / GruPacked op, expanded from its packed record.</summary>
internal sealed class RecurrentPackedArrays
{
    /// <summary>Zero: ops 25-26 add no bias before the rescale, [D, 2, G×H].</summary>
    public readonly int[] PreBias;
    /// <summary>The record's Q3.12 biases, added after each part's rescale, [D, 2, G×H].</summary>
    public readonly int[] PostBias;
    public readonly int[] InputMultipliers, InputShifts, RecurrentMultipliers, RecurrentShifts;

    public RecurrentPackedArrays(int rows)
    {
        PreBias = new int[2 * rows];
        PostBias = new int[2 * rows];
        InputMultipliers = new int[rows];
        InputShifts = new int[rows];
        RecurrentMultipliers = new int[rows];
        RecurrentShifts = new int[rows];
    }
}

public sealed partial class Model
{
    private RecurrentPackedArrays?[]? _recurrentPacked;

    /// <summary>Ops 25-26: their packed per-row records expanded (null for other ops), built on first use and shared read-only.</summary>
    internal RecurrentPackedArrays?[] PreparedRecurrentPacked()
    {
        var prepared = Volatile.Read(ref _recurrentPacked);
        if (prepared is not null) return prepared;
        prepared = new RecurrentPackedArrays?[_ops.Length];
        for (int i = 0; i < _ops.Length; i++)
        {
            var op = _ops[i];
            if (op.Type is not (OpType.LstmPacked or OpType.GruPacked)) continue;
            var p = ReadParams<RecurrentPackedParams>(op);
            int rows = _tensors[op.Input1].Shape.D0;
            var a = new RecurrentPackedArrays(rows);
            PackedRecurrent.Decode(ConstantData.Slice(p.RequantOffset, (int)PackedRecurrent.Bytes(rows)), rows,
                a.PostBias, a.InputMultipliers, a.InputShifts, a.RecurrentMultipliers, a.RecurrentShifts);
            prepared[i] = a;
        }
        return Interlocked.CompareExchange(ref _recurrentPacked, prepared, null) ?? prepared;
    }
}
