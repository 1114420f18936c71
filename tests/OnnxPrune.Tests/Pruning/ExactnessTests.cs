using OnnxPrune.IR;
using OnnxPrune.Onnx;
using OnnxPrune.Pruning.Channels;
using OnnxPrune.Pruning.Cost;
using OnnxPrune.Pruning.Pipeline;
using OnnxPrune.Runtime;
using OnnxPrune.Runtime.Data;
using OnnxPrune.Tests.Runtime;

namespace OnnxPrune.Tests.Pruning;

/// <summary>
/// The rewrite removes exactly what it claims: zero a random half of every prunable group's
/// channels in the original (filters, biases, BatchNorm scale and shift, per-channel constants),
/// then physically remove those channels; ONNX Runtime must compute the same outputs for both.
/// Also: the cost estimator used for planning agrees with the cost model on the rewritten graph.
/// </summary>
[Trait("Category", "Slow")]
public class ExactnessTests
{
    public static TheoryData<string> Models() => new(TestData.TorchvisionTestModels.Concat(["blazeface-front-128", "blazeface-back-256", "ppocr-mobile-v2-cls"]).Distinct());

    [Theory]
    [MemberData(nameof(Models))]
    public void RemovingZeroedChannelsKeepsOutputsAndShapes(string name)
    {
        _ = OrtTestLibrary.Runtime;
        var path = TestData.RealModel(name);
        var model = OnnxModelFile.Load(path);
        PreparePasses.Run(model, verify: true);
        var shapes = TestData.InputShapes(path);
        if (shapes is not null)
            foreach (var input in model.Graph.Inputs)
                if (shapes.TryGetValue(input.Name, out var dims)) input.Shape = new Shape(dims.Select((d, i) => i == 0 ? Dim.Symbolic("N") : Dim.Known(d)));
        var analysis = ChannelAnalysis.Run(model);
        var prunable = analysis.Groups.Where(g => g.IsPrunable).ToList();
        prunable.Should().NotBeEmpty();

        var random = new Random(1234);
        var removed = new List<int>();
        foreach (var g in prunable)
            removed.AddRange(g.PrunableUnits.OrderBy(_ => random.Next()).Take(Math.Min(g.PrunableUnits.Count / 2, g.ChannelCount - 1)));
        removed.Should().NotBeEmpty();

        var baseline = CostModel.Measure(model.Graph);
        var estimate = new PrunedCostEstimator(analysis, baseline).Estimate(removed);
        var outputShapes = model.Graph.Outputs.Select(o => o.Shape).ToList();

        analysis.ZeroInPlace(removed);
        var zeroed = OnnxModelFile.ToBytes(model);
        analysis.Remove(removed);
        Verifier.Check(model.Graph).Should().BeEmpty();
        var after = CostModel.Measure(model.Graph);
        after.Macs.Should().Be(estimate.Macs, "the planner's estimate must be the cost of the rewritten model");
        after.Params.Should().Be(estimate.Params);
        after.Macs.Should().BeLessThan(baseline.Macs);
        model.Graph.Outputs.Select(o => o.Shape).Should().Equal(outputShapes);
        var pruned = OnnxModelFile.ToBytes(model);

        var settings = new SessionSettings { IntraOpThreads = 2 };
        using var a = InferenceSession.FromBytes(zeroed, settings);
        using var b = InferenceSession.FromBytes(pruned, settings);
        b.Inputs.Select(i => i.ToString()).Should().Equal(a.Inputs.Select(i => i.ToString()), "inputs keep their declared shapes");
        var inputs = RandomInputs.Create(a.Inputs, batch: 2, seed: 5, shapes);
        var outA = a.Run(inputs);
        var outB = b.Run(inputs);
        foreach (var (key, value) in outA)
        {
            outB[key].Dims.Should().Equal(value.Dims);
            var x = TensorConversion.ToDoubles(value);
            var y = TensorConversion.ToDoubles(outB[key]);
            var scale = x.Max(Math.Abs);
            var maxAbs = x.Zip(y, (p, q) => Math.Abs(p - q)).Max();
            maxAbs.Should().BeLessThanOrEqualTo(1e-4 * scale, $"output '{key}' (scale {scale:g3})");
        }
    }
}
