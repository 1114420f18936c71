using Google.Protobuf;
using OnnxPrune.IR;
using OnnxPrune.Onnx.Proto;
using Attribute = OnnxPrune.IR.Attribute;

namespace OnnxPrune.Onnx;

/// <summary>
/// Builds a ModelProto from the IR. Where an IR object came from a file, its proto is the starting
/// point and only the fields the IR models are overwritten, so functions, training info, doc
/// strings, metadata, unknown attributes and unknown fields all survive. Unchanged tensors and
/// attributes are written as the very protos that were read.
/// </summary>
internal sealed class ProtoWriter
{
    private readonly Func<string, Tensor, TensorProto> _writeTensor;

    /// <param name="writeTensor">Turns an initializer into a proto; the saver decides between
    /// inline and external data.</param>
    public ProtoWriter(Func<string, Tensor, TensorProto> writeTensor) => _writeTensor = writeTensor;

    public ModelProto Write(Model model)
    {
        var proto = model.Origin is ModelProto origin ? CloneWithout(origin, m => m.Graph, (m, g) => m.Graph = g) : new ModelProto();
        proto.IrVersion = model.IrVersion;
        SetString(model.ProducerName, v => proto.ProducerName = v, proto.HasProducerName, proto.ClearProducerName);
        SetString(model.ProducerVersion, v => proto.ProducerVersion = v, proto.HasProducerVersion, proto.ClearProducerVersion);
        SetString(model.Domain, v => proto.Domain = v, proto.HasDomain, proto.ClearDomain);
        SetString(model.DocString, v => proto.DocString = v, proto.HasDocString, proto.ClearDocString);
        if (model.ModelVersion != 0 || proto.HasModelVersion) proto.ModelVersion = model.ModelVersion;

        // Keep the recorded order of opset imports; append new domains.
        var imports = proto.OpsetImport.Where(o => model.OpsetImports.ContainsKey(o.Domain)).ToList();
        proto.OpsetImport.Clear();
        foreach (var o in imports)
        {
            var version = model.OpsetImports[o.Domain];
            proto.OpsetImport.Add(o.Version == version ? o : new OperatorSetIdProto(o) { Version = version });
        }
        foreach (var (domain, version) in model.OpsetImports)
            if (imports.All(o => o.Domain != domain)) proto.OpsetImport.Add(new OperatorSetIdProto { Domain = domain, Version = version });

        var recordedMeta = proto.MetadataProps.ToList();
        proto.MetadataProps.Clear();
        foreach (var (k, v) in model.MetadataProps)
            proto.MetadataProps.Add(recordedMeta.FirstOrDefault(e => e.Key == k && e.Value == v) ?? new StringStringEntryProto { Key = k, Value = v });

        proto.Graph = WriteGraph(model.Graph);
        return proto;
    }

    private static void SetString(string value, Action<string> set, bool had, Action clear)
    {
        if (value.Length > 0 || had) set(value);
        else clear();
    }

    /// <summary>A copy of <paramref name="origin"/> without one large sub-message, which is detached
    /// during the copy so it is not cloned for nothing.</summary>
    private static T CloneWithout<T, TPart>(T origin, Func<T, TPart> get, Action<T, TPart> set)
        where T : IDeepCloneable<T> where TPart : class
    {
        var part = get(origin);
        set(origin, null!);
        try { return origin.Clone(); }
        finally { set(origin, part); }
    }

    private GraphProto WriteGraph(Graph graph)
    {
        var origin = graph.Origin as GraphOrigin;
        GraphProto gp;
        if (origin is not null)
        {
            // Clone only the header: detach the big repeated fields while copying.
            var src = origin.Proto;
            var saved = (src.Node.ToArray(), src.Initializer.ToArray(), src.Input.ToArray(), src.Output.ToArray(), src.ValueInfo.ToArray());
            src.Node.Clear(); src.Initializer.Clear(); src.Input.Clear(); src.Output.Clear(); src.ValueInfo.Clear();
            try { gp = src.Clone(); }
            finally
            {
                src.Node.AddRange(saved.Item1); src.Initializer.AddRange(saved.Item2); src.Input.AddRange(saved.Item3);
                src.Output.AddRange(saved.Item4); src.ValueInfo.AddRange(saved.Item5);
            }
        }
        else gp = new GraphProto();
        if (graph.Name.Length > 0 || gp.HasName) gp.Name = graph.Name;

        foreach (var input in graph.Inputs) gp.Input.Add(WriteValueInfo(input, input.Origin as ValueInfoProto));
        foreach (var init in graph.InitializersInOrder()) gp.Initializer.Add(_writeTensor(init.Name, init.ConstValue!));
        foreach (var node in graph.Nodes)
        {
            gp.Node.Add(WriteNode(node));
            foreach (var o in node.Outputs)
                if (o.Origin is ValueInfoProto vi && !o.IsGraphOutput) gp.ValueInfo.Add(WriteValueInfo(o, vi));
        }
        foreach (var output in graph.Outputs)
        {
            ValueInfoProto? recorded = null;
            origin?.OutputInfos.TryGetValue(output.Name, out recorded);
            // A graph output's own declaration wins over the value's intermediate value_info.
            gp.Output.Add(WriteValueInfo(output, recorded ?? output.Origin as ValueInfoProto, declaredOnly: output.Producer is null));
        }
        return gp;
    }

    private static ValueInfoProto WriteValueInfo(Value v, ValueInfoProto? recorded, bool declaredOnly = false)
    {
        var type = declaredOnly && recorded is not null ? recorded.Type : TypeConversion.ToProto(v, recorded?.Type);
        if (recorded is not null && recorded.Name == v.Name && ReferenceEquals(type, recorded.Type)) return recorded;
        var vi = recorded is not null ? recorded.Clone() : new ValueInfoProto();
        vi.Name = v.Name;
        if (type is null) vi.Type = null; else vi.Type = type;
        return vi;
    }

    private NodeProto WriteNode(Node node)
    {
        NodeProto np;
        if (node.Origin is NodeProto src)
        {
            np = new NodeProto(src);
            np.Input.Clear(); np.Output.Clear(); np.Attribute.Clear();
        }
        else np = new NodeProto();
        np.OpType = node.OpType;
        if (node.Name.Length > 0 || np.HasName) np.Name = node.Name;
        if (node.Domain.Length > 0 || np.HasDomain) np.Domain = node.Domain;
        foreach (var i in node.Inputs) np.Input.Add(i?.Name ?? "");
        foreach (var o in node.Outputs) np.Output.Add(o.Name);
        foreach (var a in node.Attributes) np.Attribute.Add(WriteAttribute(a));
        return np;
    }

    private AttributeProto WriteAttribute(Attribute a)
    {
        var recorded = a.Origin as AttributeProto;
        // Unchanged attributes go back as read; graph attributes are rebuilt because the
        // subgraph may have been edited.
        if (recorded is not null && a.Kind is not (AttributeKind.Graph or AttributeKind.Graphs or AttributeKind.Tensor or AttributeKind.Tensors))
            return recorded;
        var ap = recorded?.Clone() ?? new AttributeProto();
        ap.Name = a.Name;
        if (a.Payload is null) return ap; // opaque kinds are always recorded
        ap.Type = (AttributeProto.Types.AttributeType)a.Kind;
        switch (a.Payload)
        {
            case float f: ap.F = f; break;
            case long i: ap.I = i; break;
            case byte[] s: ap.S = ByteString.CopyFrom(s); break;
            case Tensor t: ap.T = WriteAttributeTensor(t); break;
            case Graph g: ap.G = WriteGraph(g); break;
            case float[] fs: ap.Floats.Clear(); ap.Floats.AddRange(fs); break;
            case long[] ints: ap.Ints.Clear(); ap.Ints.AddRange(ints); break;
            case byte[][] ss: ap.Strings.Clear(); ap.Strings.AddRange(ss.Select(ByteString.CopyFrom)); break;
            case Tensor[] ts: ap.Tensors.Clear(); ap.Tensors.AddRange(ts.Select(WriteAttributeTensor)); break;
            case Graph[] gs: ap.Graphs.Clear(); ap.Graphs.AddRange(gs.Select(WriteGraph)); break;
        }
        return ap;
    }

    /// <summary>Attribute tensors (Constant nodes) stay inline with their own names.</summary>
    private static TensorProto WriteAttributeTensor(Tensor t) => t is ProtoTensor { IsExternal: false } p ? p.Proto : TensorWriter.Inline(t is ProtoTensor pt ? pt.Proto.Name : "", t);
}
