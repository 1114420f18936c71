using OnnxPrune.IR;

namespace OnnxPrune.Runtime.Lowering;

/// <summary>
/// Whether the loaded ONNX Runtime has its blocked-layout ("NCHWc") CPU kernels, and their
/// channel block. ORT's own optimizer uses them only for convolutions with constant weights; a
/// training graph (weights fed every step) can call them directly through the
/// com.microsoft.nchwc domain. The block is what MLAS chose for this CPU (16 with AVX-512, 8 with
/// AVX2; the kernels are absent on other builds), so it is measured, not assumed.
/// </summary>
internal static class NchwcSupport
{
    public const string Domain = "com.microsoft.nchwc";

    private static readonly Dictionary<OrtRuntime, int> Cache = new();

    /// <summary>The channel block of ORT's NCHWc kernels, or 0 when this ORT has none.</summary>
    public static int BlockSize(OrtRuntime? runtime = null)
    {
        runtime ??= OrtRuntime.Shared;
        lock (Cache)
        {
            if (!Cache.TryGetValue(runtime, out var block)) Cache[runtime] = block = Probe(runtime);
            return block;
        }
    }

    /// <summary>ReorderInput pads 4 channels up to one block: the output's channel count is the block.</summary>
    private static int Probe(OrtRuntime runtime)
    {
        var model = new Model(new Graph("nchwc-probe"));
        model.OpsetImports[""] = 17;
        model.OpsetImports[Domain] = 1;
        var x = new Value("x", DataType.Float, new Shape([Dim.Known(1), Dim.Known(4), Dim.Known(1), Dim.Known(1)]));
        model.Graph.AddInput(x);
        var node = new Node(Domain, "ReorderInput", [x], ["y"], [], "probe");
        model.Graph.AddNode(node);
        model.Graph.AddOutput(node.Outputs[0]);
        try
        {
            using var session = InferenceSession.FromModel(model, new SessionSettings { IntraOpThreads = 1 }, runtime);
            var y = session.Run(new Dictionary<string, TensorData> { ["x"] = TensorData.Create(new float[4], 1, 4, 1, 1) })["y"];
            return y.Dims.Count == 4 && y.Dims[1] >= 4 ? (int)y.Dims[1] : 0;
        }
        catch (OrtException)
        {
            return 0;
        }
    }
}
