using System.Globalization;
using OnnxPrune.IR;

namespace OnnxPrune.Pruning.Latency;

/// <summary>How a layer's channels are split into groups; decides how the probe is built and what
/// its (in, out) widths mean.</summary>
internal enum LayerKind
{
    /// <summary>One group: every output reads every input.</summary>
    Dense,
    /// <summary>group == input channels: one width (the input channels); outputs are
    /// <see cref="LayerSignature.DepthMultiplier"/> per input.</summary>
    Depthwise,
    /// <summary>A fixed number of groups (pruning keeps it; every group narrows alike).</summary>
    Grouped,
}

/// <summary>
/// Everything that decides a Conv / Gemm / MatMul layer's latency except its channel widths, so
/// that one table entry per (signature, in, out) serves every layer of that configuration. ORT's
/// kernel choice depends on the kernel, strides, pads, dilations, grouping, the input's spatial
/// size and batch, and on the activation it fuses into the convolution (FusedConv absorbs a
/// Relu/Clip/LeakyRelu/Sigmoid/HardSigmoid/Tanh directly after it), so all of those are in the key.
/// Equality is the equality of <see cref="Key"/>.
/// </summary>
internal sealed class LayerSignature : IEquatable<LayerSignature>
{
    /// <summary>Activations ORT's Conv/Gemm activation fusion absorbs on the CPU provider.</summary>
    public static readonly IReadOnlySet<string> FusableActivations = new HashSet<string>(StringComparer.Ordinal)
        { "Relu", "Clip", "LeakyRelu", "Sigmoid", "HardSigmoid", "Tanh" };

    public LayerSignature(string op, LayerKind kind, int groups, int depthMultiplier, long[] kernel, long[] strides, long[] pads,
        long[] dilations, long[] inputDims, long batch, string? activation, bool transposedWeight = false)
    {
        if (op is not ("Conv" or "Gemm" or "MatMul")) throw new ArgumentException($"no latency signature for op '{op}' (Conv, Gemm and MatMul are modelled)", nameof(op));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batch);
        if (activation is not null && !FusableActivations.Contains(activation))
            throw new ArgumentException($"'{activation}' is not an activation ORT fuses", nameof(activation));
        Op = op; Kind = kind; Groups = groups; DepthMultiplier = depthMultiplier;
        Kernel = kernel; Strides = strides; Pads = pads; Dilations = dilations; InputDims = inputDims;
        Batch = batch; Activation = activation; TransposedWeight = transposedWeight;
        Key = string.Join(' ', new[]
        {
            op, kind switch { LayerKind.Depthwise => $"dw*{depthMultiplier}", LayerKind.Grouped => $"g{groups}", _ => "dense" },
            "k" + Join(kernel), "s" + Join(strides), "p" + Join(pads), "d" + Join(dilations),
            // Conv: spatial dims of the input; Gemm/MatMul: the input's dims before the feature axis.
            "in" + Join(inputDims), "n" + batch.ToString(CultureInfo.InvariantCulture),
            "act=" + (activation ?? "none"), transposedWeight ? "wT" : "w",
        });
    }

    public string Op { get; }
    public LayerKind Kind { get; }
    /// <summary>Group count of a <see cref="LayerKind.Grouped"/> layer; 1 otherwise (a depthwise layer's
    /// group count is its width).</summary>
    public int Groups { get; }
    /// <summary>Outputs per input channel of a depthwise layer; 1 otherwise.</summary>
    public int DepthMultiplier { get; }
    public long[] Kernel { get; }
    public long[] Strides { get; }
    /// <summary>ONNX order: begins then ends.</summary>
    public long[] Pads { get; }
    public long[] Dilations { get; }
    /// <summary>Conv: the input's spatial dims; Gemm/MatMul: the input's dims before the feature
    /// axis (the rows), with the batch dim resolved.</summary>
    public long[] InputDims { get; }
    public long Batch { get; }
    /// <summary>The fused activation's op type, or null.</summary>
    public string? Activation { get; }
    /// <summary>Gemm with transB = 1 (weight stored [out, in]).</summary>
    public bool TransposedWeight { get; }

    /// <summary>Stable text naming the configuration; the cache file's key.</summary>
    public string Key { get; }

    /// <summary>Input channels for <paramref name="cout"/> outputs of a depthwise layer.</summary>
    public int DepthwiseInputs(int cout) => cout / DepthMultiplier;

    public bool Equals(LayerSignature? other) => other is not null && other.Key == Key;
    public override bool Equals(object? obj) => Equals(obj as LayerSignature);
    public override int GetHashCode() => StringComparer.Ordinal.GetHashCode(Key);
    public override string ToString() => Key;

    private static string Join(long[] values) => values.Length == 0 ? "-" : string.Join('x', values.Select(v => v.ToString(CultureInfo.InvariantCulture)));
}
