using Google.Protobuf;
using OnnxPrune.IR;
using OnnxPrune.Onnx.Proto;
using Attribute = OnnxPrune.IR.Attribute;

namespace OnnxPrune.Onnx;

/// <summary>
/// Builds the IR from a parsed ModelProto. Each IR object remembers the proto it came from as its
/// opaque Origin, so the writer can keep every field the IR does not model. Names are resolved
/// through nested scopes (subgraphs see the values of the graphs around them). Every problem is
/// an <see cref="OnnxFormatException"/> naming the node or value.
/// </summary>
internal sealed class ProtoReader
{
    private readonly string? _modelDirectory;
    private readonly string _fileLabel;

    public ProtoReader(string? modelDirectory, string fileLabel)
    {
        _modelDirectory = modelDirectory;
        _fileLabel = fileLabel;
    }

    public Model Read(ModelProto proto)
    {
        if (proto.Graph is null)
            throw new OnnxFormatException($"{_fileLabel} is not an ONNX model: it has no graph");
        if (!proto.HasIrVersion || proto.IrVersion <= 0)
            throw new OnnxFormatException($"{_fileLabel} is not an ONNX model: it has no IR version");

        var graph = ReadGraph(proto.Graph, outer: null, parent: null);
        var model = new Model(graph)
        {
            IrVersion = proto.IrVersion,
            ProducerName = proto.ProducerName,
            ProducerVersion = proto.ProducerVersion,
            Domain = proto.Domain,
            ModelVersion = proto.ModelVersion,
            DocString = proto.DocString,
            Origin = proto,
        };
        foreach (var op in proto.OpsetImport) model.OpsetImports[op.Domain] = op.Version;
        foreach (var kv in proto.MetadataProps) model.MetadataProps.Add(new(kv.Key, kv.Value));
        ModelValidator.Check(proto, model, _fileLabel);
        return model;
    }

    /// <summary>Names visible in a graph: its own definitions, then the enclosing graphs'.</summary>
    private sealed class Scope(Scope? outer)
    {
        private readonly Dictionary<string, Value> _names = new(StringComparer.Ordinal);

        public bool TryFind(string name, out Value value)
        {
            for (var s = this; s is not null; s = s.Outer)
                if (s._names.TryGetValue(name, out value!)) return true;
            value = null!;
            return false;
        }

        public bool DefinedHere(string name) => _names.ContainsKey(name);
        public void Define(Value v) => _names[v.Name] = v;
        public Scope? Outer { get; } = outer;
    }

    private Graph ReadGraph(GraphProto gp, Scope? outer, Node? parent)
    {
        var graph = new Graph(gp.Name) { ParentNode = parent };
        var scope = new Scope(outer);
        var outputInfos = new Dictionary<string, ValueInfoProto>(StringComparer.Ordinal);
        graph.Origin = new GraphOrigin(gp, outputInfos);
        string where = parent is null ? _fileLabel : $"{_fileLabel}, subgraph '{gp.Name}' of node '{parent.Name}' ({parent.OpType})";

        foreach (var vi in gp.Input)
        {
            if (scope.DefinedHere(vi.Name)) throw new OnnxFormatException($"{where}: graph input '{vi.Name}' is declared twice");
            var (t, s) = TypeConversion.FromProto(vi.Type);
            var v = new Value(vi.Name, t, s) { Origin = vi };
            graph.AddInput(v);
            scope.Define(v);
        }
        foreach (var tp in gp.Initializer)
        {
            var tensor = ProtoTensor.Create(tp, _modelDirectory, $"{where}: initializer");
            if (scope.DefinedHere(tp.Name) && scope.TryFind(tp.Name, out var input) && input.IsGraphInput && input.ConstValue is null)
            {
                // Before IR version 4 initializers were also listed as inputs: one value, overridable default.
                var (declared, declaredShape) = (input.ElementType, input.Shape);
                input.ConstValue = tensor;
                graph.AddInitializer(input);
                if (declared != DataType.Undefined && declared != tensor.DataType)
                    throw new OnnxFormatException($"{where}: input '{tp.Name}' is declared {DataTypes.Name(declared)} but its initializer is {DataTypes.Name(tensor.DataType)}");
                continue;
            }
            if (scope.DefinedHere(tp.Name)) throw new OnnxFormatException($"{where}: initializer '{tp.Name}' is defined twice");
            var v = new Value(tp.Name) { ConstValue = tensor };
            graph.AddInitializer(v);
            scope.Define(v);
        }
        if (gp.SparseInitializer.Count > 0)
            throw new OnnxFormatException($"{where}: sparse initializers are not supported (first: '{gp.SparseInitializer[0].Values?.Name}'); densify the model first");

        // Two sweeps: outputs first, so that nodes listed out of order still resolve (the order
        // is then repaired, or a cycle reported).
        var nodes = new List<(Node Node, NodeProto Proto)>(gp.Node.Count);
        foreach (var np in gp.Node)
        {
            var node = new Node(np.Domain, np.OpType, Array.Empty<Value?>(), np.Output, name: np.Name) { Origin = np };
            foreach (var o in node.Outputs)
            {
                if (o.Name.Length == 0) continue;
                if (scope.DefinedHere(o.Name))
                    throw new OnnxFormatException($"{where}: node '{np.Name}' ({np.OpType}) defines '{o.Name}', which is already defined (names must be unique)");
                scope.Define(o);
            }
            nodes.Add((node, np));
        }
        foreach (var (node, np) in nodes)
        {
            foreach (var name in np.Input)
            {
                if (name.Length == 0) { node.AppendInput(null); continue; }
                if (!scope.TryFind(name, out var v))
                    throw new OnnxFormatException($"{where}: node '{np.Name}' ({np.OpType}) reads '{name}', which no node output, graph input or initializer defines");
                node.AppendInput(v);
            }
            graph.AddNode(node);
            foreach (var ap in np.Attribute) node.Attributes.Set(ReadAttribute(ap, node, scope, where));
        }

        foreach (var vi in gp.ValueInfo)
        {
            if (!scope.DefinedHere(vi.Name) || !scope.TryFind(vi.Name, out var v)) continue; // stale entry for a value that no longer exists
            var (t, s) = TypeConversion.FromProto(vi.Type);
            if (v.Producer is not null)
            {
                v.ElementType = t;
                v.Shape = s;
                v.Origin = vi;
            }
        }
        foreach (var vi in gp.Output)
        {
            if (!scope.TryFind(vi.Name, out var v))
                throw new OnnxFormatException($"{where}: graph output '{vi.Name}' is not computed by any node, input or initializer");
            var (t, s) = TypeConversion.FromProto(vi.Type);
            if (v.Producer is not null && v.ElementType == DataType.Undefined) v.ElementType = t;
            if (v.Producer is not null && v.Shape is null) v.Shape = s;
            outputInfos[vi.Name] = vi;
            graph.AddOutput(v);
        }

        try
        {
            graph.SortTopologically();
        }
        catch (GraphCycleException e)
        {
            throw new OnnxFormatException($"{where}: {e.Message}");
        }
        return graph;
    }

    private Attribute ReadAttribute(AttributeProto ap, Node node, Scope scope, string where)
    {
        string ctx = $"{where}: attribute '{ap.Name}' of node '{node.Name}' ({node.OpType})";
        if (ap.HasRefAttrName) return Attribute.Opaque(ap.Name, (AttributeKind)ap.Type, ap);
        var kind = ap.HasType ? (AttributeKind)ap.Type : InferKind(ap);
        // A declared type whose field is empty while another field holds the value: reading the
        // empty field would silently give a default (found by fuzzing: Conv pads declared TENSORS
        // read as no padding, so inferred shapes disagreed with the weights).
        if (ap.HasType && InferKind(ap) is var held && held != AttributeKind.Undefined && held != kind && !Holds(ap, kind))
            throw new OnnxFormatException($"{ctx} is declared {kind} but holds {held} values; the attribute's type field is wrong");
        Attribute a = kind switch
        {
            AttributeKind.Float => Attribute.Float(ap.Name, ap.F),
            AttributeKind.Int => Attribute.Int(ap.Name, ap.I),
            AttributeKind.String => Attribute.Bytes(ap.Name, ap.S.ToByteArray()),
            AttributeKind.Tensor when ap.T is not null => Attribute.FromTensor(ap.Name, ProtoTensor.Create(ap.T, _modelDirectory, ctx + ", tensor")),
            AttributeKind.Graph when ap.G is not null => Attribute.FromGraph(ap.Name, ReadGraph(ap.G, scope, node)),
            AttributeKind.Floats => Attribute.Floats(ap.Name, ap.Floats.ToArray()),
            AttributeKind.Ints => Attribute.Ints(ap.Name, ap.Ints.ToArray()),
            AttributeKind.Strings => Attribute.Strings(ap.Name, ap.Strings.Select(s => s.ToByteArray()).ToArray()),
            AttributeKind.Tensors => Attribute.FromTensors(ap.Name, ap.Tensors.Select(t => (Tensor)ProtoTensor.Create(t, _modelDirectory, ctx + ", tensor")).ToArray()),
            AttributeKind.Graphs => Attribute.FromGraphs(ap.Name, ap.Graphs.Select(g => ReadGraph(g, scope, node)).ToArray()),
            AttributeKind.Tensor or AttributeKind.Graph => throw new OnnxFormatException($"{ctx} is declared {kind} but holds no value"),
            _ => Attribute.Opaque(ap.Name, kind, ap),
        };
        return a.Origin is null ? a.WithOrigin(ap) : a;
    }

    /// <summary>Whether the field of <paramref name="kind"/> is set.</summary>
    private static bool Holds(AttributeProto ap, AttributeKind kind) => kind switch
    {
        AttributeKind.Float => ap.HasF,
        AttributeKind.Int => ap.HasI,
        AttributeKind.String => ap.HasS,
        AttributeKind.Tensor => ap.T is not null,
        AttributeKind.Graph => ap.G is not null,
        AttributeKind.Floats => ap.Floats.Count > 0,
        AttributeKind.Ints => ap.Ints.Count > 0,
        AttributeKind.Strings => ap.Strings.Count > 0,
        AttributeKind.Tensors => ap.Tensors.Count > 0,
        AttributeKind.Graphs => ap.Graphs.Count > 0,
        _ => true, // kinds the IR keeps opaque (sparse tensors, type protos) are not second-guessed
    };

    /// <summary>IR version 1 files may omit the attribute's type; it follows from the field set.</summary>
    private static AttributeKind InferKind(AttributeProto ap)
    {
        if (ap.HasF) return AttributeKind.Float;
        if (ap.HasI) return AttributeKind.Int;
        if (ap.HasS) return AttributeKind.String;
        if (ap.T is not null) return AttributeKind.Tensor;
        if (ap.G is not null) return AttributeKind.Graph;
        if (ap.Floats.Count > 0) return AttributeKind.Floats;
        if (ap.Ints.Count > 0) return AttributeKind.Ints;
        if (ap.Strings.Count > 0) return AttributeKind.Strings;
        if (ap.Tensors.Count > 0) return AttributeKind.Tensors;
        if (ap.Graphs.Count > 0) return AttributeKind.Graphs;
        return AttributeKind.Undefined;
    }
}

/// <summary>What the writer needs of a graph as read: its proto (for the fields the IR does not
/// model) and the declared types of its outputs.</summary>
internal sealed record GraphOrigin(GraphProto Proto, IReadOnlyDictionary<string, ValueInfoProto> OutputInfos);
