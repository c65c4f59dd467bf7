using System.Text;

namespace EdgeQuant.Converter.Onnx;

/// <summary>
/// A dense tensor in C (row-major) order: a constant from the model, or a value computed by the
/// float executor or by constant folding. Floating data is held as float32 in <see cref="Floats"/>,
/// integer and bool data as int64 in <see cref="Int64s"/>; exactly one of the two is non-null.
/// Treat instances as immutable: passes share them between graphs.
/// </summary>
public sealed class OnnxTensor
{
    private OnnxTensor(int[] shape, OnnxDataType dataType, float[]? floats, long[]? int64s)
    {
        Shape = shape;
        DataType = dataType;
        Floats = floats;
        Int64s = int64s;
    }

    /// <summary>Dimensions, outermost first. Empty for a scalar.</summary>
    public int[] Shape { get; }

    /// <summary>How the values are stored.</summary>
    public OnnxElementType ElementType => Floats is not null ? OnnxElementType.Float : OnnxElementType.Int64;

    /// <summary>The ONNX type these values represent (for example INT32 values are stored as int64).</summary>
    public OnnxDataType DataType { get; }

    /// <summary>The values when <see cref="ElementType"/> is Float, otherwise null.</summary>
    public float[]? Floats { get; }

    /// <summary>The values when <see cref="ElementType"/> is Int64, otherwise null.</summary>
    public long[]? Int64s { get; }

    /// <summary>Number of dimensions.</summary>
    public int Rank => Shape.Length;

    /// <summary>Number of elements (1 for a scalar).</summary>
    public int ElementCount => Floats?.Length ?? Int64s!.Length;

    /// <summary>True when the values are floating point.</summary>
    public bool IsFloat => Floats is not null;

    /// <summary>Wraps float32 data (not copied) of the given shape.</summary>
    public static OnnxTensor FromFloats(int[] shape, float[] data)
    {
        CheckCount(shape, data.Length);
        return new OnnxTensor(shape, OnnxDataType.Float, data, null);
    }

    /// <summary>Wraps int64 data (not copied) of the given shape; <paramref name="dataType"/> records the ONNX type.</summary>
    public static OnnxTensor FromInt64s(int[] shape, long[] data, OnnxDataType dataType = OnnxDataType.Int64)
    {
        CheckCount(shape, data.Length);
        if (OnnxDataTypes.IsFloating(dataType))
        {
            throw new ArgumentException("integer data cannot have a floating data type", nameof(dataType));
        }

        return new OnnxTensor(shape, dataType, null, data);
    }

    /// <summary>Wraps data of either kind; exactly one array must be non-null.</summary>
    internal static OnnxTensor FromData(int[] shape, float[]? floats, long[]? int64s, OnnxDataType dataType)
    {
        if (floats is not null)
        {
            CheckCount(shape, floats.Length);
            return new OnnxTensor(shape, OnnxDataTypes.IsFloating(dataType) ? dataType : OnnxDataType.Float, floats, null);
        }

        return FromInt64s(shape, int64s ?? throw new ArgumentNullException(nameof(int64s)), dataType);
    }

    /// <summary>A float32 scalar (shape []).</summary>
    public static OnnxTensor Scalar(float value) => FromFloats([], [value]);

    /// <summary>An int64 scalar (shape []).</summary>
    public static OnnxTensor Scalar(long value) => FromInt64s([], [value]);

    /// <summary>A 1-D int64 tensor.</summary>
    public static OnnxTensor Vector(params long[] values) => FromInt64s([values.Length], values);

    /// <summary>A 1-D float32 tensor.</summary>
    public static OnnxTensor Vector(params float[] values) => FromFloats([values.Length], values);

    /// <summary>The same data viewed with another shape of equal element count (data not copied).</summary>
    public OnnxTensor WithShape(int[] shape)
    {
        CheckCount(shape, ElementCount);
        return new OnnxTensor(shape, DataType, Floats, Int64s);
    }

    /// <summary>The float data; throws when the tensor holds integers.</summary>
    internal float[] FloatData => Floats ?? throw new InvalidOperationException("tensor holds integers, not floats");

    /// <summary>The int64 data; throws when the tensor holds floats.</summary>
    internal long[] Int64Data => Int64s ?? throw new InvalidOperationException("tensor holds floats, not integers");

    /// <summary>The values converted to float32 (a new array).</summary>
    public float[] ToFloatArray()
    {
        if (Floats is not null)
        {
            return (float[])Floats.Clone();
        }

        var result = new float[Int64s!.Length];
        for (int i = 0; i < result.Length; i++)
        {
            result[i] = Int64s[i];
        }

        return result;
    }

    /// <summary>The values converted to int64, truncating floats toward zero (a new array).</summary>
    public long[] ToInt64Array()
    {
        if (Int64s is not null)
        {
            return (long[])Int64s.Clone();
        }

        var result = new long[Floats!.Length];
        for (int i = 0; i < result.Length; i++)
        {
            result[i] = (long)Floats[i];
        }

        return result;
    }

    /// <summary>Element <paramref name="index"/> (flat, C order) as a double, whatever the storage.</summary>
    public double GetAsDouble(int index) => Floats is not null ? Floats[index] : Int64s![index];

    /// <summary>Element <paramref name="index"/> (flat, C order) as an int64 (floats truncated).</summary>
    public long GetAsInt64(int index) => Int64s is not null ? Int64s[index] : (long)Floats![index];

    /// <summary>True when both tensors have the same shape, storage and bit-identical values.</summary>
    public bool ContentEquals(OnnxTensor other)
    {
        if (!Shape.AsSpan().SequenceEqual(other.Shape) || ElementType != other.ElementType)
        {
            return false;
        }

        return Floats is not null
            ? Floats.AsSpan().SequenceEqual(other.Floats)
            : Int64s.AsSpan().SequenceEqual(other.Int64s);
    }

    /// <summary>Number of elements of a shape; throws <see cref="ConversionException"/> above int.MaxValue or for negative dims.</summary>
    public static int CountElements(ReadOnlySpan<int> shape)
    {
        long count = 1;
        foreach (int d in shape)
        {
            if (d < 0)
            {
                throw new ConversionException($"shape {FormatShape(shape)} has a negative dimension");
            }

            count *= d;
            if (count > int.MaxValue)
            {
                throw new ConversionException($"shape {FormatShape(shape)} has more than {int.MaxValue} elements");
            }
        }

        return (int)count;
    }

    /// <summary>Formats a shape as [a, b, c]; -1 is printed as "?".</summary>
    public static string FormatShape(ReadOnlySpan<int> shape)
    {
        var sb = new StringBuilder("[");
        for (int i = 0; i < shape.Length; i++)
        {
            if (i > 0)
            {
                sb.Append(", ");
            }

            sb.Append(shape[i] < 0 ? "?" : shape[i].ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        return sb.Append(']').ToString();
    }

    /// <inheritdoc />
    public override string ToString() => $"{OnnxDataTypes.Name(DataType)}{FormatShape(Shape)}";

    private static void CheckCount(int[] shape, int length)
    {
        if (CountElements(shape) != length)
        {
            throw new ArgumentException($"shape {FormatShape(shape)} needs {CountElements(shape)} values, got {length}");
        }
    }
}
