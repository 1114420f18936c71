using OnnxPrune.IR;
using OnnxPrune.Onnx;
using OnnxPrune.Pruning.Channels;
using OnnxPrune.Pruning.Cost;
using OnnxPrune.Pruning.Latency;
using OnnxPrune.Pruning.Pipeline;
using OnnxPrune.Tests.Runtime;

namespace OnnxPrune.Tests.Pruning.Latency;

/// <summary>The latency model on the bundled ResNet-20 with a stand-in probe: calibration, and the
/// widths it predicts for against the widths the real rewrite gives.</summary>
public class LatencyModelTests
{
    private static string ResNet20 => Path.Combine(OrtTestLibrary.RepositoryRoot, "models", "resnet20-fmnist.onnx");

    private static (ChannelAnalysis Analysis, ModelCost Baseline) Analyse()
    {
        var model = OnnxModelFile.Load(ResNet20);
        PreparePasses.Run(model);
        var analysis = ChannelAnalysis.Run(model);
        return (analysis, CostModel.Measure(model.Graph));
    }

    [Theory]
    [InlineData(LatencyCalibration.Scale)]
    [InlineData(LatencyCalibration.Offset)]
    internal void The_original_is_predicted_as_measured(LatencyCalibration calibration)
    {
        using var f = new LatencyFixture();
        var (analysis, baseline) = Analyse();
        var model = LatencyModel.Build(analysis, baseline, f.Table(), 3.5, calibration);
        model.LayerCount.Should().Be(baseline.Nodes.Count(n => n.Macs > 0), "every Conv and the Gemm are modelled");
        model.Unmodelled.Should().BeEmpty();
        model.PredictedOriginalMs.Should().BeApproximately(3.5, 1e-9);
        model.Predict([]).Should().BeApproximately(3.5, 1e-9);
    }

    [Fact]
    public void Layers_report_the_widths_of_the_pruned_model_and_the_prediction_follows_them()
    {
        using var f = new LatencyFixture();
        var (analysis, baseline) = Analyse();
        var latency = LatencyModel.Build(analysis, baseline, f.Table(), 3.5);
        var result = DataFreePruner.Run(OnnxModelFile.Load(ResNet20), new DataFreePruneOptions { Target = new TargetSpec.Flops("50%"), CheckWithRuntime = false });
        result.RemovedUnits.Should().NotBeEmpty();

        var layers = latency.Layers(result.RemovedUnits);
        var pruned = result.Model.Graph.Nodes.Where(n => n.OpType is "Conv" or "Gemm").ToDictionary(n => n.Name);
        layers.Should().HaveCount(pruned.Count);
        foreach (var layer in layers)
        {
            var node = pruned[layer.Node];
            var w = node.Input(1)!.ConstValue!.Dims;
            var (cin, cout) = node.OpType == "Conv" ? (w[1] * node.Attributes.GetInt("group", 1), w[0]) : (w[1], w[0]);
            (layer.InAfter, layer.OutAfter).Should().Be(((int)cin, (int)cout), layer.Node);
        }
        layers.Should().Contain(l => l.InAfter < l.InBefore || l.OutAfter < l.OutBefore);

        int probes = f.Probes;
        var predicted = latency.Predict(result.RemovedUnits);
        predicted.Should().BeApproximately(3.5 * layers.Sum(l => l.MsAfter) / layers.Sum(l => l.MsBefore), 1e-9);
        f.Probes.Should().Be(probes, "Layers() measured every width Predict needs");
        latency.Table.Measured.Should().Be(f.Probes);
    }

    [Fact]
    public void Offset_calibration_keeps_the_rest_constant()
    {
        using var f = new LatencyFixture();
        var (analysis, baseline) = Analyse();
        var latency = LatencyModel.Build(analysis, baseline, f.Table(), 3.5, LatencyCalibration.Offset);
        var someRoots = analysis.Groups.Where(g => g.IsPrunable).Select(g => g.PrunableUnits[0]).Select(analysis.Root).Distinct().ToList();
        var layers = latency.Layers(someRoots);
        latency.Predict(someRoots).Should().BeApproximately(3.5 - layers.Sum(l => l.MsBefore) + layers.Sum(l => l.MsAfter), 1e-9);
    }
}
