namespace OnnxPrune.IR;

/// <summary>A model: its graph plus the header fields of the file format.</summary>
public sealed class Model
{
    public Model(Graph graph) => Graph = graph;

    public Graph Graph { get; set; }
    public long IrVersion { get; set; } = 8;

    /// <summary>Opset version per domain ("" is the default ONNX domain).</summary>
    public Dictionary<string, long> OpsetImports { get; } = new(StringComparer.Ordinal);

    public string ProducerName { get; set; } = "";
    public string ProducerVersion { get; set; } = "";
    public string Domain { get; set; } = "";
    public long ModelVersion { get; set; }
    public string DocString { get; set; } = "";

    /// <summary>Free-form key/value metadata, in file order.</summary>
    public List<KeyValuePair<string, string>> MetadataProps { get; } = new();

    /// <summary>Opaque record from the serializer (functions, training info, unknown fields);
    /// the IR never reads it.</summary>
    public object? Origin { get; set; }

    /// <summary>
    /// A deep copy: new graphs, nodes and values (subgraphs included, their reads of outer values
    /// pointing at the copies), so the copy can be rewritten without touching this model. Tensors
    /// and attribute values are immutable and shared; so are the serializer's opaque records.
    /// O(nodes + values), no serialization.
    /// </summary>
    public Model Clone()
    {
        var copy = new Model(GraphCopy.Of(Graph, new Dictionary<Value, Value>(ReferenceEqualityComparer.Instance)))
        {
            IrVersion = IrVersion,
            ProducerName = ProducerName,
            ProducerVersion = ProducerVersion,
            Domain = Domain,
            ModelVersion = ModelVersion,
            DocString = DocString,
            Origin = Origin,
        };
        foreach (var (domain, version) in OpsetImports) copy.OpsetImports[domain] = version;
        copy.MetadataProps.AddRange(MetadataProps);
        return copy;
    }

    /// <summary>The version of the default ONNX opset, or 0 when the model does not import it.</summary>
    public long DefaultOpset =>
        OpsetImports.TryGetValue("", out var v) ? v : OpsetImports.TryGetValue("ai.onnx", out var w) ? w : 0;
}
