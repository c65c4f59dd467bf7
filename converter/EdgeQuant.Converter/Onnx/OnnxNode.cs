namespace EdgeQuant.Converter.Onnx;

/// <summary>
/// One operator application. Inputs and outputs are value names; an omitted optional input
/// is the empty string, as in ONNX. Attribute getters throw <see cref="ConversionException"/>
/// naming the node, op and attribute when an attribute is missing or has another type.
/// </summary>
public sealed class OnnxNode
{
    private readonly Dictionary<string, OnnxAttribute> _attributes = new(StringComparer.Ordinal);

    /// <summary>Creates a node in the default ONNX domain.</summary>
    public OnnxNode(string name, string opType, IEnumerable<string> inputs, IEnumerable<string> outputs, IEnumerable<OnnxAttribute>? attributes = null)
    {
        Name = name;
        OpType = opType;
        Inputs = [.. inputs];
        Outputs = [.. outputs];
        if (attributes is not null)
        {
            foreach (var a in attributes)
            {
                _attributes[a.Name] = a;
            }
        }
    }

    /// <summary>Node name; the importer synthesizes "&lt;OpType&gt;_&lt;index&gt;" when the model leaves it empty.</summary>
    public string Name { get; set; }

    /// <summary>Operator type, for example "Conv".</summary>
    public string OpType { get; }

    /// <summary>Input value names in ONNX order; "" marks an omitted optional input.</summary>
    public List<string> Inputs { get; }

    /// <summary>Output value names in ONNX order.</summary>
    public List<string> Outputs { get; }

    /// <summary>Attributes by name.</summary>
    public IReadOnlyDictionary<string, OnnxAttribute> Attributes => _attributes;

    /// <summary>"node 'name' (OpType)", the prefix of every error about this node.</summary>
    public string Description => $"node '{Name}' ({OpType})";

    /// <summary>Input <paramref name="index"/>, or "" when it is absent or omitted.</summary>
    public string InputOrEmpty(int index) => index < Inputs.Count ? Inputs[index] : "";

    /// <summary>True when input <paramref name="index"/> is present and not omitted.</summary>
    public bool HasInput(int index) => index < Inputs.Count && Inputs[index].Length > 0;

    /// <summary>Adds or replaces an attribute.</summary>
    public void SetAttribute(OnnxAttribute attribute) => _attributes[attribute.Name] = attribute;

    /// <summary>Removes an attribute if present.</summary>
    public void RemoveAttribute(string name) => _attributes.Remove(name);

    /// <summary>True when the node has an attribute called <paramref name="name"/>.</summary>
    public bool HasAttribute(string name) => _attributes.ContainsKey(name);

    /// <summary>INT attribute, or <paramref name="defaultValue"/> when absent.</summary>
    public long GetInt(string name, long defaultValue) =>
        _attributes.TryGetValue(name, out var a) ? Expect(a, OnnxAttributeType.Int).Int : defaultValue;

    /// <summary>Required INT attribute.</summary>
    public long GetInt(string name) => Expect(Require(name), OnnxAttributeType.Int).Int;

    /// <summary>Required INTS attribute.</summary>
    public long[] GetInts(string name) => Expect(Require(name), OnnxAttributeType.Ints).Ints;

    /// <summary>INTS attribute, or null when absent.</summary>
    public long[]? GetIntsOrNull(string name) =>
        _attributes.TryGetValue(name, out var a) ? Expect(a, OnnxAttributeType.Ints).Ints : null;

    /// <summary>FLOAT attribute, or <paramref name="defaultValue"/> when absent.</summary>
    public float GetFloat(string name, float defaultValue) =>
        _attributes.TryGetValue(name, out var a) ? Expect(a, OnnxAttributeType.Float).Float : defaultValue;

    /// <summary>Required FLOAT attribute.</summary>
    public float GetFloat(string name) => Expect(Require(name), OnnxAttributeType.Float).Float;

    /// <summary>Required FLOATS attribute.</summary>
    public float[] GetFloats(string name) => Expect(Require(name), OnnxAttributeType.Floats).Floats;

    /// <summary>FLOATS attribute, or null when absent.</summary>
    public float[]? GetFloatsOrNull(string name) =>
        _attributes.TryGetValue(name, out var a) ? Expect(a, OnnxAttributeType.Floats).Floats : null;

    /// <summary>STRING attribute, or <paramref name="defaultValue"/> when absent.</summary>
    public string GetString(string name, string defaultValue) =>
        _attributes.TryGetValue(name, out var a) ? Expect(a, OnnxAttributeType.String).String : defaultValue;

    /// <summary>Required STRING attribute.</summary>
    public string GetString(string name) => Expect(Require(name), OnnxAttributeType.String).String;

    /// <summary>A required STRINGS attribute.</summary>
    public string[] GetStrings(string name) => Expect(Require(name), OnnxAttributeType.Strings).Strings;

    /// <summary>Required TENSOR attribute.</summary>
    public OnnxTensor GetTensor(string name) => Expect(Require(name), OnnxAttributeType.Tensor).Tensor!;

    /// <summary>TENSOR attribute, or null when absent.</summary>
    public OnnxTensor? GetTensorOrNull(string name) =>
        _attributes.TryGetValue(name, out var a) ? Expect(a, OnnxAttributeType.Tensor).Tensor : null;

    /// <summary>A <see cref="ConversionException"/> whose message starts with <see cref="Description"/>.</summary>
    public ConversionException Error(string message, Exception? inner = null) => new($"{Description}: {message}", inner);

    /// <summary>A copy with the same name, op, inputs, outputs and attributes (attribute values shared).</summary>
    public OnnxNode Clone() => new(Name, OpType, Inputs, Outputs, _attributes.Values);

    /// <inheritdoc />
    public override string ToString() =>
        $"{Description}: ({string.Join(", ", Inputs)}) -> ({string.Join(", ", Outputs)})";

    private OnnxAttribute Require(string name) =>
        _attributes.TryGetValue(name, out var a) ? a : throw Error($"required attribute '{name}' is missing");

    private OnnxAttribute Expect(OnnxAttribute a, OnnxAttributeType type) =>
        a.Type == type
            ? a
            : throw Error($"attribute '{a.Name}' has type {OnnxAttribute.TypeName(a.Type)}; expected {OnnxAttribute.TypeName(type)}");
}
