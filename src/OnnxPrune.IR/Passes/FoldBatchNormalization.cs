namespace OnnxPrune.IR.Passes;

/// <summary>
/// Folds an inference-mode BatchNormalization into the Conv, ConvTranspose or Gemm that feeds it:
/// with s = γ / sqrt(var + ε) per output channel, the weights become W·s (each output channel's
/// filter scaled) and the bias becomes (b − μ)·s + β (created when the layer had none). The BN's
/// output name passes to the layer's output, so graph outputs and readers keep their names.
/// <para>What folds: a float32 BatchNormalization of the default domain, not in training mode,
/// whose only output read is Y, whose scale, bias, mean and variance are initializers no graph
/// input overrides, fed by a layer whose output nothing else reads (and that is no graph output),
/// whose weight and bias are such initializers too (or Identity nodes of them), and for Gemm: B constant, C absent or one value
/// per output column. Anything else is left as it is. A weight or bias the layer shares with
/// another reader is copied, not changed in place. The arithmetic is done in double, then rounded
/// to float once.</para>
/// <para><see cref="OnlyNodes"/> restricts the pass to BatchNormalization nodes of those names (the
/// trainer folds back only the ones it inserted). Subgraphs are not entered. Cost: O(nodes) plus
/// the size of the folded weights.</para>
/// </summary>
public sealed class FoldBatchNormalization : IPass
{
    /// <param name="onlyNodes">Names of the BatchNormalization nodes to fold; null: every one that can be.</param>
    public FoldBatchNormalization(IReadOnlySet<string>? onlyNodes = null) => OnlyNodes = onlyNodes;

    public IReadOnlySet<string>? OnlyNodes { get; }

    public string Name => "fold-batch-normalization";

    public bool Run(Model model)
    {
        var graph = model.Graph;
        var freed = new List<Value>();
        foreach (var bn in graph.Nodes.ToList())
        {
            if (!IsFoldableNorm(bn) || OnlyNodes is { } only && !only.Contains(bn.Name)) continue;
            var x = bn.Inputs[0]!;
            if (x.Producer is not { } layer || x.IsGraphOutput || x.Uses.Count != 1) continue;
            var replaced = new List<Value>();
            if (!TryFold(graph, layer, bn, replaced)) continue;
            freed.AddRange(bn.Inputs.Skip(1).OfType<Value>());
            freed.AddRange(replaced);
            graph.ReplaceNode(bn, x);
        }
        // The BN parameters (and weights a shared initializer left behind) nothing reads any more.
        var work = new Stack<Value>(freed);
        while (work.Count > 0)
        {
            var v = work.Pop();
            if (v.Uses.Count > 0 || v.IsGraphOutput) continue;
            if (v.IsInitializer) graph.RemoveInitializer(v);
            else if (v.Producer is { IsOnnxDomain: true, OpType: "Identity" } identity && identity.Graph is not null)
            {
                graph.RemoveNode(identity);
                work.Push(identity.Inputs[0]!);
            }
        }
        return freed.Count > 0;
    }

    private static bool IsFoldableNorm(Node bn)
    {
        if (!bn.IsOnnxDomain || bn.OpType != "BatchNormalization" || bn.Inputs.Count != 5 || bn.Inputs[0] is null) return false;
        if (bn.Attributes.GetInt("training_mode", 0) != 0 || bn.Attributes.GetInt("spatial", 1) != 1) return false;
        for (int i = 1; i < bn.Outputs.Count; i++)
            if (bn.Outputs[i].Uses.Count > 0 || bn.Outputs[i].IsGraphOutput) return false;
        for (int i = 1; i < 5; i++)
            if (Constant(bn.Inputs[i]) is not { DataType: DataType.Float }) return false;
        return true;
    }

    /// <summary>The data of a float initializer that no graph input can replace at run time, else null.</summary>
    private static Tensor? Constant(Value? v) => v is { IsInitializer: true, IsGraphInput: false } ? v.ConstValue : null;

    /// <summary>As <see cref="Constant"/>, also through Identity nodes (torch.onnx.export reads
    /// weights it de-duplicated through an Identity of the shared initializer).</summary>
    private static Tensor? ConstantThroughIdentity(Value? v)
    {
        while (v?.Producer is { IsOnnxDomain: true, OpType: "Identity" } identity) v = identity.Inputs[0];
        return Constant(v);
    }

    /// <summary>Rewrites the layer's weight and bias to absorb <paramref name="bn"/>; false (nothing changed) when it cannot.</summary>
    private static bool TryFold(Graph graph, Node layer, Node bn, List<Value> replaced)
    {
        if (!layer.IsOnnxDomain || layer.Outputs.Count != 1) return false;
        var gamma = bn.Inputs[1]!.ConstValue!.ToDoubleArray();
        var beta = bn.Inputs[2]!.ConstValue!.ToDoubleArray();
        var mean = bn.Inputs[3]!.ConstValue!.ToDoubleArray();
        var variance = bn.Inputs[4]!.ConstValue!.ToDoubleArray();
        int channels = gamma.Length;
        if (beta.Length != channels || mean.Length != channels || variance.Length != channels) return false;
        double epsilon = bn.Attributes.GetFloat("epsilon", 1e-5f);
        var scale = new double[channels];
        for (int c = 0; c < channels; c++) scale[c] = gamma[c] / Math.Sqrt(variance[c] + epsilon);

        var weight = layer.Input(1);
        if (ConstantThroughIdentity(weight) is not { DataType: DataType.Float } w || ChannelMap(layer, w, channels) is not { } channelOf) return false;
        if (!BiasFits(layer, channels, out var b, out var oldBias)) return false;

        var values = w.ToFloatArray();
        for (long i = 0; i < values.LongLength; i++) values[i] = (float)(values[i] * scale[channelOf(i)]);
        var newBias = new float[channels];
        for (int c = 0; c < channels; c++) newBias[c] = (float)((oldBias[c] - mean[c]) * scale[c] + beta[c]);

        replaced.Add(weight!);
        if (b is not null) replaced.Add(b);
        SetConstant(graph, layer, 1, DenseTensor.FromFloats(w.Dims, values), weight!.Name);
        var biasDims = b is null ? [channels] : ConstantThroughIdentity(b)!.Dims;
        SetConstant(graph, layer, 2, DenseTensor.FromFloats(biasDims, newBias), b?.Name ?? (layer.Name.Length > 0 ? layer.Name : weight.Name) + "_bias");
        if (layer.OpType == "Gemm") layer.Attributes.Set(Attribute.Float("beta", 1f));
        return true;
    }

    /// <summary>
    /// Whether a BatchNormalization reading <paramref name="layer"/>'s output (alone) could be folded
    /// into it: a Conv, ConvTranspose or Gemm whose weight is a constant float initializer (or an
    /// Identity of one) and whose bias, if any, is one with a value per output channel.
    /// </summary>
    public static bool CanFoldInto(Node layer)
    {
        ArgumentNullException.ThrowIfNull(layer);
        if (!layer.IsOnnxDomain || layer.Outputs.Count != 1 || ConstantThroughIdentity(layer.Input(1)) is not { DataType: DataType.Float } w) return false;
        long channels = layer.OpType switch
        {
            "Conv" when w.Dims.Length >= 3 => w.Dims[0],
            "ConvTranspose" when w.Dims.Length >= 3 => w.Dims[1] * layer.Attributes.GetInt("group", 1),
            "Gemm" when w.Dims.Length == 2 => w.Dims[layer.Attributes.GetInt("transB", 0) != 0 ? 0 : 1],
            _ => 0,
        };
        return channels is > 0 and <= int.MaxValue && ChannelMap(layer, w, (int)channels) is not null && BiasFits(layer, (int)channels, out _, out _);
    }

    /// <summary>Output channel of each weight element, or null when the weight does not have
    /// <paramref name="channels"/> output channels.</summary>
    private static Func<long, int>? ChannelMap(Node layer, Tensor w, int channels) => layer.OpType switch
    {
        "Conv" => ConvChannel(w, channels),
        "ConvTranspose" => ConvTransposeChannel(w, channels, layer.Attributes.GetInt("group", 1)),
        "Gemm" => GemmChannel(w, channels, layer.Attributes.GetInt("transB", 0) != 0),
        _ => null,
    };

    /// <summary>The layer's bias as one value per output channel (zeros when it has none; Gemm's C
    /// times its beta attribute); false when it is not a constant of that size.</summary>
    private static bool BiasFits(Node layer, int channels, out Value? bias, out double[] values)
    {
        bias = layer.Input(2); // Conv's B, ConvTranspose's B, Gemm's C
        values = new double[channels];
        if (bias is null) return true;
        if (ConstantThroughIdentity(bias) is not { DataType: DataType.Float } t || t.ElementCount != channels || t.Dims.Length is not (1 or 2) || t.Dims[^1] != channels)
            return false;
        values = t.ToDoubleArray();
        if (layer.OpType == "Gemm")
        {
            double cScale = layer.Attributes.GetFloat("beta", 1f);
            for (int c = 0; c < channels; c++) values[c] *= cScale;
        }
        return true;
    }

    /// <summary>Conv weight [M, C/g, k...]: output channel = index along axis 0.</summary>
    private static Func<long, int>? ConvChannel(Tensor w, int channels)
    {
        if (w.Dims.Length < 3 || w.Dims[0] != channels) return null;
        long block = w.ElementCount / channels;
        return i => (int)(i / block);
    }

    /// <summary>ConvTranspose weight [C, M/g, k...]: input channel c of group c/(C/g) writes output
    /// channel (c/(C/g))·(M/g) + j for index j along axis 1.</summary>
    private static Func<long, int>? ConvTransposeChannel(Tensor w, int channels, long group)
    {
        if (w.Dims.Length < 3 || group < 1 || w.Dims[0] % group != 0 || w.Dims[1] * group != channels) return null;
        long perGroupIn = w.Dims[0] / group, perGroupOut = w.Dims[1];
        long kernel = w.ElementCount / (w.Dims[0] * w.Dims[1]);
        return i =>
        {
            long c = i / (perGroupOut * kernel), j = i / kernel % perGroupOut;
            return (int)(c / perGroupIn * perGroupOut + j);
        };
    }

    /// <summary>Gemm B: [K, N] (output channel = column) or, with transB, [N, K] (= row).</summary>
    private static Func<long, int>? GemmChannel(Tensor w, int channels, bool transposed)
    {
        if (w.Dims.Length != 2) return null;
        if (transposed)
        {
            if (w.Dims[0] != channels) return null;
            long k = w.Dims[1];
            return i => (int)(i / k);
        }
        if (w.Dims[1] != channels) return null;
        return i => (int)(i % channels);
    }

    /// <summary>Gives input <paramref name="slot"/> of <paramref name="layer"/> the value
    /// <paramref name="data"/>: in place when the input is an initializer the layer alone reads,
    /// else as a new initializer (so another reader still sees the old value).</summary>
    private static void SetConstant(Graph graph, Node layer, int slot, Tensor data, string nameHint)
    {
        var old = layer.Input(slot);
        if (old is { IsInitializer: true, Uses.Count: 1, IsGraphOutput: false })
        {
            old.ConstValue = data;
            return;
        }
        while (layer.Inputs.Count < slot) layer.AppendInput(null);
        var fresh = graph.AddInitializer(nameHint, data);
        if (layer.Inputs.Count == slot) layer.AppendInput(fresh);
        else layer.SetInput(slot, fresh);
    }
}
