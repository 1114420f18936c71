using OnnxPrune.IR;
using OnnxPrune.Onnx;
using OnnxPrune.Runtime;
using OnnxPrune.Runtime.Data;

namespace OnnxPrune.Pruning.Latency;

/// <summary>
/// Measures one layer configuration alone: a one-layer ONNX model (input -> the layer with seeded
/// random weights and a bias -> its fused activation) run by ONNX Runtime on the table's settings.
/// The planner asks for hundreds of these, so a probe is a few warm-up runs and then the median
/// of at least <see cref="MinRuns"/> runs, enough for about <see cref="TargetTimedMs"/> ms of timed
/// work, at most <see cref="MaxRuns"/>: a 0.05 ms layer gets 400 runs (a median that noise cannot
/// move far), a 20 ms layer 15 (0.3 s).
/// </summary>
internal static class LayerProbe
{
    public const int WarmupRuns = 3;
    public const int MinRuns = 15;
    public const int MaxRuns = 400;
    public const double TargetTimedMs = 20;

    /// <summary>Median milliseconds of the layer <paramref name="signature"/> at widths (<paramref name="cin"/>, <paramref name="cout"/>).</summary>
    public static double Measure(LayerSignature signature, int cin, int cout, SessionSettings settings)
    {
        var bytes = OnnxModelFile.ToBytes(Build(signature, cin, cout));
        using var session = InferenceSession.FromBytes(bytes, settings);
        var inputs = RandomInputs.Create(session.Inputs, signature.Batch, seed: 0);
        // The warm-up's last run estimates the run time, which sets how many timed runs fit the budget.
        var estimate = LatencyBenchmark.Measure(session, inputs, WarmupRuns, 1)[0];
        int runs = (int)Math.Clamp(Math.Ceiling(TargetTimedMs / Math.Max(estimate, 1e-3)), MinRuns, MaxRuns);
        var times = LatencyBenchmark.Measure(session, inputs, 0, runs);
        return Pipeline.LatencyComparison.Median(times);
    }

    /// <summary>The one-layer model the probe runs (opset 17, float32, weights seeded by the widths so a
    /// rerun builds the same bytes).</summary>
    public static Model Build(LayerSignature signature, int cin, int cout)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(cin);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(cout);
        var graph = new Graph("latency_probe");
        var random = new Random(cin * 7919 + cout);
        var (inputDims, weightDims, node) = signature.Op switch
        {
            "Conv" => ConvParts(signature, cin, cout),
            "Gemm" => ([.. signature.InputDims, cin], signature.TransposedWeight ? [cout, cin] : [cin, cout],
                (Func<Value, Value, Value?, Node>)((x, w, b) => new Node("", "Gemm", [x, w, b], ["y"],
                    [IR.Attribute.Int("transB", signature.TransposedWeight ? 1 : 0)], "layer"))),
            _ => (signature.InputDims.Append(cin).ToArray(), new long[] { cin, cout },
                (Func<Value, Value, Value?, Node>)((x, w, _) => new Node("", "MatMul", [x, w], ["y"], null, "layer"))),
        };
        var x = new Value("x", DataType.Float, new Shape(inputDims));
        graph.AddInput(x);
        var weight = graph.AddInitializer("w", RandomTensor(weightDims, random));
        var bias = signature.Op == "MatMul" ? null : graph.AddInitializer("b", RandomTensor([cout], random));
        var layer = graph.AddNode(node(x, weight, bias));
        var y = layer.Outputs[0];
        if (signature.Activation is { } act)
        {
            var inputs = new List<Value?> { y };
            if (act == "Clip")
            {
                inputs.Add(graph.AddInitializer("clip_min", DenseTensor.FromFloats([], [0f])));
                inputs.Add(graph.AddInitializer("clip_max", DenseTensor.FromFloats([], [6f])));
            }
            y = graph.AddNode(new Node("", act, inputs, ["z"], null, "activation")).Outputs[0];
        }
        y.ElementType = DataType.Float;
        graph.AddOutput(y);
        var model = new Model(graph) { ProducerName = "onnxprune-latency-probe" };
        model.OpsetImports[""] = 17;
        return model;
    }

    private static (long[] Input, long[] Weight, Func<Value, Value, Value?, Node> Node) ConvParts(LayerSignature s, int cin, int cout)
    {
        long groups = s.Kind switch { LayerKind.Depthwise => cin, LayerKind.Grouped => s.Groups, _ => 1 };
        if (cin % groups != 0 || cout % groups != 0)
            throw new ArgumentException($"widths ({cin}, {cout}) do not split into the {groups} groups of '{s.Key}'");
        var attributes = new[]
        {
            IR.Attribute.Ints("kernel_shape", s.Kernel), IR.Attribute.Ints("strides", s.Strides), IR.Attribute.Ints("pads", s.Pads),
            IR.Attribute.Ints("dilations", s.Dilations), IR.Attribute.Int("group", groups),
        };
        return ([s.Batch, cin, .. s.InputDims], [cout, cin / groups, .. s.Kernel],
            (x, w, b) => new Node("", "Conv", [x, w, b], ["y"], attributes, "layer"));
    }

    private static Tensor RandomTensor(long[] dims, Random random)
    {
        long count = 1;
        foreach (var d in dims) count *= d;
        var values = new float[count];
        for (long i = 0; i < count; i++) values[i] = (float)(random.NextDouble() * 2 - 1) * 0.1f;
        return DenseTensor.FromFloats(dims, values);
    }
}
