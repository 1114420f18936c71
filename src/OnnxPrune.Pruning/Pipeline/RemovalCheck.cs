using OnnxPrune.IR;
using OnnxPrune.Onnx;
using OnnxPrune.Pruning.Channels;
using OnnxPrune.Runtime;
using OnnxPrune.Runtime.Data;

namespace OnnxPrune.Pruning.Pipeline;

/// <summary>Largest output difference of a removal check, and the output's scale.</summary>
internal sealed record RemovalCheckResult(int RemovedChannels, double MaxAbsError, double Scale)
{
    public bool Passed(double relativeTolerance = 1e-4) => MaxAbsError <= relativeTolerance * Math.Max(Scale, double.Epsilon);
}

/// <summary>
/// Checks the rewrite on a model: zeroes a seeded random half of every prunable group's channels,
/// removes exactly those, and compares what ONNX Runtime computes from the two models.
/// </summary>
internal static class RemovalCheck
{
    public static RemovalCheckResult Run(byte[] model, string? directory, IReadOnlyDictionary<string, long[]> inputShapes, int seed)
    {
        var m = OnnxModelFile.FromBytes(model, directory);
        PreparePasses.Run(m);
        var analysis = ChannelAnalysis.Run(m);
        var random = new Random(seed);
        var removed = new List<int>();
        foreach (var g in analysis.Groups.Where(g => g.IsPrunable))
            removed.AddRange(g.PrunableUnits.OrderBy(_ => random.Next()).Take(Math.Min(g.PrunableUnits.Count / 2, g.ChannelCount - 1)));
        analysis.ZeroInPlace(removed);
        var zeroed = OnnxModelFile.ToBytes(m);
        analysis.Remove(removed);
        Verifier.Verify(m.Graph);
        var pruned = OnnxModelFile.ToBytes(m);

        var settings = new SessionSettings { IntraOpThreads = 2 };
        using var a = InferenceSession.FromBytes(zeroed, settings);
        using var b = InferenceSession.FromBytes(pruned, settings);
        var inputs = RandomInputs.Create(a.Inputs, 1, seed, inputShapes);
        var outA = a.Run(inputs);
        var outB = b.Run(inputs);
        double maxAbs = 0, scale = 0;
        foreach (var (key, value) in outA)
        {
            if (!outB[key].Dims.SequenceEqual(value.Dims)) return new RemovalCheckResult(removed.Count, double.PositiveInfinity, 0);
            var x = TensorConversion.ToDoubles(value);
            var y = TensorConversion.ToDoubles(outB[key]);
            for (int i = 0; i < x.Length; i++)
            {
                maxAbs = Math.Max(maxAbs, Math.Abs(x[i] - y[i]));
                scale = Math.Max(scale, Math.Abs(x[i]));
            }
        }
        return new RemovalCheckResult(removed.Count, maxAbs, scale);
    }
}
