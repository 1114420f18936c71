using OnnxPrune.Pruning.Pipeline;
using OnnxPrune.Runtime;

namespace OnnxPrune.Tests.Pruning.Latency;

/// <summary>The side-by-side latency measurement reports counted progress, so a terminal can draw a bar with an ETA.</summary>
public class LatencyComparisonProgressTests
{
    [Fact]
    public void Each_block_of_each_model_advances_the_count_to_the_total()
    {
        var bytes = File.ReadAllBytes(Path.Combine(OnnxPrune.Tests.Runtime.OrtTestLibrary.RepositoryRoot, "models", "resnet20-fmnist.onnx"));
        var statuses = new List<string>();
        var pair = LatencyComparison.Measure(bytes, bytes, new SessionSettings { IntraOpThreads = 1 }, 1, new Dictionary<string, long[]>(),
            rounds: 3, runsPerRound: 2, warmup: 1, progress: statuses.Add);
        var counts = statuses.Select(s => System.Text.RegularExpressions.Regex.Match(s, @"(\d+)/(\d+)")).Select(m => (int.Parse(m.Groups[1].Value), int.Parse(m.Groups[2].Value))).ToList();
        counts.Should().Equal(Enumerable.Range(0, 7).Select(i => (i, 6)));
        pair.BeforeMs.Should().BeGreaterThan(0);
        pair.AfterMs.Should().BeGreaterThan(0);
    }
}
