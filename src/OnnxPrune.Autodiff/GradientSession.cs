using OnnxPrune.IR;
using OnnxPrune.Runtime;
using OnnxPrune.Runtime.Lowering;

namespace OnnxPrune.Autodiff;

/// <summary>
/// An ONNX Runtime session over a <see cref="TrainingGraph"/>: feeds data and parameters, returns
/// the loss and the gradients. Parameters not given take their starting values. Thread-safe as
/// ORT sessions are (concurrent <see cref="Evaluate"/> calls are allowed).
/// </summary>
internal sealed class GradientSession : IDisposable
{
    private readonly InferenceSession _session;
    private readonly Dictionary<string, TensorData> _initial = new(StringComparer.Ordinal);

    /// <exception cref="OrtException">ORT rejected the training graph.</exception>
    public GradientSession(TrainingGraph graph, SessionSettings? settings = null, OrtRuntime? runtime = null)
    {
        ArgumentNullException.ThrowIfNull(graph);
        Graph = graph;
        // The blocked-layout kernels are CPU kernels: under another provider they would only add copies.
        var cpu = (settings ?? SessionSettings.Default).Provider == ExecutionProvider.Cpu;
        int blocked = 0;
        var model = cpu ? ExecutionModel(graph, runtime, out blocked) : graph.Model;
        BlockedConvolutionCount = blocked;
        _session = InferenceSession.FromModel(model, settings, runtime);
        if (graph.WeightsAreInputs)
            foreach (var p in graph.Parameters) _initial[p.Name] = TensorConvert.ToTensorData(p.InitialValue);
    }

    public TrainingGraph Graph { get; }

    /// <summary>The model ORT runs: the training graph, with its eligible convolutions on the
    /// blocked-layout kernels when the graph asks for that and the runtime has them (a copy; the
    /// graph's own model stays standard ONNX).</summary>
    private static Model ExecutionModel(TrainingGraph graph, OrtRuntime? runtime, out int blocked)
    {
        blocked = 0;
        if (!graph.BlockedConvolutions) return graph.Model;
        int block = NchwcSupport.BlockSize(runtime);
        if (block == 0) return graph.Model;
        var copy = graph.Model.Clone();
        blocked = BlockedConvolutions.Lower(copy, block);
        return blocked > 0 ? copy : graph.Model;
    }

    /// <summary>How many of the training graph's convolutions run on ORT's blocked-layout kernels.</summary>
    public int BlockedConvolutionCount { get; }

    /// <summary>The underlying session (for outputs this class does not fetch).</summary>
    public InferenceSession Session => _session;

    /// <summary>The parameters' starting values as ORT inputs (shared arrays: do not modify).</summary>
    public IReadOnlyDictionary<string, TensorData> InitialParameters => _initial;

    /// <summary>Runs the training graph once.</summary>
    /// <param name="data">Every entry of <see cref="TrainingGraph.DataInputs"/>.</param>
    /// <param name="parameters">Parameter values by name; missing ones use their starting values.
    /// Must be empty when the weights are baked in (<see cref="TrainingGraph.WeightsAreInputs"/> false).</param>
    /// <param name="allOutputs">Also fetch the model outputs, value gradients and batch statistics.</param>
    /// <exception cref="ArgumentException">A parameter name the graph does not have.</exception>
    public GradientEvaluation Evaluate(IReadOnlyDictionary<string, TensorData> data,
        IReadOnlyDictionary<string, TensorData>? parameters = null, bool allOutputs = false)
    {
        ArgumentNullException.ThrowIfNull(data);
        var feeds = new Dictionary<string, TensorData>(data, StringComparer.Ordinal);
        if (parameters is not null)
        {
            foreach (var (name, value) in parameters)
            {
                if (Graph.Parameter(name) is null) throw new ArgumentException($"the training graph has no parameter '{name}'", nameof(parameters));
                if (!Graph.WeightsAreInputs) throw new ArgumentException("the parameters are baked into this training graph (WeightsAsInputs was false)", nameof(parameters));
                feeds[name] = value;
            }
        }
        foreach (var (name, value) in _initial) feeds.TryAdd(name, value);

        var fetch = allOutputs
            ? null
            : new[] { Graph.LossOutput }.Concat(Graph.Parameters.Select(p => p.GradientOutput)).ToList();
        var outputs = _session.Run(feeds, fetch);
        var loss = outputs[Graph.LossOutput];
        var gradients = Graph.Parameters.ToDictionary(p => p.Name, p => outputs[p.GradientOutput], StringComparer.Ordinal);
        return new GradientEvaluation(TensorConvert.ToDoubles(loss)[0], gradients, outputs);
    }

    public void Dispose() => _session.Dispose();
}

/// <summary>One run of a training graph.</summary>
/// <param name="Loss">The loss.</param>
/// <param name="Gradients">Gradient per parameter name.</param>
/// <param name="Outputs">Every fetched output by output name.</param>
internal sealed record GradientEvaluation(double Loss, IReadOnlyDictionary<string, TensorData> Gradients,
    IReadOnlyDictionary<string, TensorData> Outputs);

/// <summary>Conversions between IR tensors, ORT tensors and double arrays (float and double only).</summary>
internal static class TensorConvert
{
    public static TensorData ToTensorData(Tensor tensor) => tensor.DataType is DataType.Float or DataType.Double
        ? OnnxPrune.Runtime.Data.TensorConversion.ToTensorData(tensor)
        : throw new NotSupportedException($"parameters of type {DataTypes.Name(tensor.DataType)} are not supported");

    public static double[] ToDoubles(TensorData t) => t.ElementType switch
    {
        DataType.Float => Array.ConvertAll(t.As<float>(), v => (double)v),
        DataType.Double => (double[])t.As<double>().Clone(),
        _ => throw new NotSupportedException($"tensors of type {DataTypes.Name(t.ElementType)} are not supported"),
    };

    /// <summary>A tensor of <paramref name="type"/> (float or double) holding <paramref name="values"/>.</summary>
    public static TensorData FromDoubles(DataType type, double[] values, IReadOnlyList<long> dims) => type switch
    {
        DataType.Float => TensorData.Create(Array.ConvertAll(values, v => (float)v), dims.ToArray()),
        DataType.Double => TensorData.Create((double[])values.Clone(), dims.ToArray()),
        _ => throw new NotSupportedException($"tensors of type {DataTypes.Name(type)} are not supported"),
    };
}
