using OnnxPrune.IR;
using OnnxPrune.Runtime;

namespace OnnxPrune.Pruning.Recovery;

/// <summary>
/// The activations, over all calibration images, where the part of the pruned network that no
/// pending refit can change any more meets the part it can. Layers are refit in graph order, so
/// without this every refit pass would run the network from the image again (quadratic in
/// depth); with it each pass starts where the last one's final part ended. Kept only while they
/// fit <see cref="BudgetBytes"/> and are float tensors with the batch first; otherwise passes
/// start from the image.
/// </summary>
internal sealed class ActivationFrontier(string imageInput, long budgetBytes)
{
    private Dictionary<string, (float[] Data, long[] SampleDims)> _cached = new(StringComparer.Ordinal);
    private Dictionary<string, (float[] Data, long[] SampleDims)>? _next;
    private List<string> _nextNames = [];
    private int _images;

    public long BudgetBytes => budgetBytes;

    /// <summary>
    /// Chooses the values to keep from the coming pass: outputs of nodes downstream of no pending
    /// layer (nor pending themselves) that a node downstream of one reads. Call before the pass.
    /// </summary>
    public IReadOnlyList<string> Plan(Model pruned, IEnumerable<Node> pendingLayers, int images)
    {
        _images = images;
        var changing = new HashSet<Node>(ReferenceEqualityComparer.Instance);
        var stack = new Stack<Node>(pendingLayers);
        while (stack.Count > 0)
        {
            var node = stack.Pop();
            if (!changing.Add(node)) continue;
            foreach (var o in node.Outputs)
                foreach (var use in o.Uses) stack.Push(use.Node);
        }
        var names = new List<string>();
        foreach (var node in pruned.Graph.Nodes.Where(changing.Contains))
            foreach (var v in node.Inputs)
                if (v is { Producer: { } p } && !changing.Contains(p) && p.OpType != "Constant" && !names.Contains(v.Name))
                    names.Add(v.Name);
        _nextNames = names;
        _next = names.Count > 0 ? new(StringComparer.Ordinal) : null;
        return names;
    }

    /// <summary>A copy of <paramref name="truncated"/> that reads the cached values as graph inputs
    /// instead of computing them, with what only they needed removed.</summary>
    public Model Cut(Model truncated)
    {
        if (_cached.Count == 0) return truncated;
        var graph = truncated.Graph;
        foreach (var node in graph.Nodes.ToList())
            foreach (var v in node.Outputs)
                if (_cached.TryGetValue(v.Name, out var c) && v.Uses.Count + (v.IsGraphOutput ? 1 : 0) > 0)
                {
                    var name = v.Name;
                    v.Name = graph.UniqueName(name + "_computed");
                    var input = new Value(name, DataType.Float, new Shape([Dim.Symbolic("batch"), .. c.SampleDims.Select(Dim.Known)]));
                    graph.AddInput(input);
                    v.ReplaceAllUsesWith(input);
                }
        new IR.Passes.EliminateDeadCode().Run(truncated);
        foreach (var input in graph.Inputs.Where(i => i.Uses.Count == 0 && !i.IsGraphOutput && i.ConstValue is null).ToList()) graph.RemoveInput(input);
        return truncated;
    }

    /// <summary>The inputs of a pass for images [start, start + count): the image batch and the cached values.</summary>
    public Dictionary<string, TensorData> Inputs(IEnumerable<TensorInfo> sessionInputs, int start, int count, TensorData images)
    {
        var feeds = new Dictionary<string, TensorData>(StringComparer.Ordinal);
        foreach (var info in sessionInputs)
        {
            if (info.Name == imageInput) { feeds[info.Name] = images; continue; }
            var (data, sampleDims) = _cached[info.Name];
            long per = sampleDims.Aggregate(1L, (a, b) => a * b);
            feeds[info.Name] = TensorData.Create(data.AsSpan((int)(start * per), (int)(count * per)).ToArray(), [count, .. sampleDims]);
        }
        return feeds;
    }

    /// <summary>Keeps this pass's values of the planned names for images [start, start + count).</summary>
    public void Store(IReadOnlyDictionary<string, TensorData> outputs, int start, int count)
    {
        if (_next is null) return;
        foreach (var name in _nextNames)
        {
            var t = outputs[name];
            if (t.ElementType != DataType.Float || t.Dims.Count == 0 || t.Dims[0] != count) { _next = null; return; }
            if (!_next.TryGetValue(name, out var entry))
            {
                long[] sampleDims = t.Dims.Skip(1).ToArray();
                long per = sampleDims.Aggregate(1L, (a, b) => a * b);
                if (per * _images > Array.MaxLength || _next.Values.Sum(e => (long)e.Data.Length * sizeof(float)) + per * _images * sizeof(float) > budgetBytes) { _next = null; return; }
                entry = (new float[per * _images], sampleDims);
                _next[name] = entry;
            }
            t.As<float>().CopyTo(entry.Data, (int)((long)start * entry.Data.Length / _images));
        }
    }

    /// <summary>After the pass: the stored values become the cache (or the cache empties when they could not be kept).</summary>
    public void Advance()
    {
        _cached = _next ?? new(StringComparer.Ordinal);
        _next = null;
    }
}
