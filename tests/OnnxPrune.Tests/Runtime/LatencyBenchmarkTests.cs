using OnnxPrune.IR;
using OnnxPrune.Runtime;

namespace OnnxPrune.Tests.Runtime;

public class LatencyBenchmarkTests
{
    private static readonly Dictionary<string, TensorData> ReluInput = new()
    {
        ["x"] = TensorData.Create(new float[60], 3, 4, 5),
    };

    [Fact]
    public void Returns_one_positive_time_per_timed_run()
    {
        using var session = InferenceSession.FromFile(NodeTestModels.Path("test_relu"), runtime: OrtTestLibrary.Runtime);
        var times = LatencyBenchmark.Measure(session, ReluInput, warmupRuns: 3, timedRuns: 25);
        times.Should().HaveCount(25).And.OnlyContain(t => t > 0 && t < 1000);
    }

    [Fact]
    public void Heavier_work_measures_slower()
    {
        // One 8x8 MatMul against a chain of twenty 192x192 MatMuls: the measurement must tell them apart.
        static InferenceSession Chain(int n, int length)
        {
            var model = new TinyModel().Input("x", DataType.Float, (long)n, (long)n).Output($"h{length}", DataType.Float, (long)n, (long)n);
            for (var i = 0; i < length; i++) model.Node("MatMul", [i == 0 ? "x" : $"h{i}", "x"], [$"h{i + 1}"]);
            return InferenceSession.FromBytes(model.Build(), new SessionSettings { IntraOpThreads = 1 }, OrtTestLibrary.Runtime);
        }
        static double Median(double[] t) => t.Order().ElementAt(t.Length / 2);

        using var small = Chain(8, 1);
        using var large = Chain(192, 20);
        var smallTimes = LatencyBenchmark.Measure(small, new Dictionary<string, TensorData> { ["x"] = TensorData.Create(new float[64], 8, 8) }, 2, 9);
        var largeTimes = LatencyBenchmark.Measure(large, new Dictionary<string, TensorData> { ["x"] = TensorData.Create(new float[192 * 192], 192, 192) }, 2, 9);
        Median(largeTimes).Should().BeGreaterThan(Median(smallTimes) * 5);
    }

    [Fact]
    public void Rejects_meaningless_run_counts()
    {
        using var session = InferenceSession.FromFile(NodeTestModels.Path("test_relu"), runtime: OrtTestLibrary.Runtime);
        var negative = () => LatencyBenchmark.Measure(session, ReluInput, -1, 5);
        negative.Should().Throw<ArgumentOutOfRangeException>();
        var none = () => LatencyBenchmark.Measure(session, ReluInput, 0, 0);
        none.Should().Throw<ArgumentOutOfRangeException>();
    }
}
