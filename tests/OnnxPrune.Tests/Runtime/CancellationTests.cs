using System.Diagnostics;
using OnnxPrune.IR;
using OnnxPrune.Runtime;

namespace OnnxPrune.Tests.Runtime;

public class CancellationTests
{
    [Fact]
    public void Cancelling_stops_a_long_run_between_nodes()
    {
        // 2000 chained 512x512 MatMuls on one thread: seconds of work (about 0.2 ms per 256x256
        // MatMul on the development machine, so 3+ s here), far more than the 100 ms until cancel.
        const int n = 512, chain = 2000;
        var model = new TinyModel().Input("x", DataType.Float, (long)n, (long)n).Output($"h{chain}", DataType.Float, (long)n, (long)n);
        for (var i = 0; i < chain; i++) model.Node("MatMul", [i == 0 ? "x" : $"h{i}", "x"], [$"h{i + 1}"]);
        using var session = InferenceSession.FromBytes(model.Build(), new SessionSettings { IntraOpThreads = 1 }, OrtTestLibrary.Runtime);

        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));
        var watch = Stopwatch.StartNew();
        var act = () => session.Run(new Dictionary<string, TensorData> { ["x"] = TensorData.Create(new float[n * n], n, n) }, null, cts.Token);

        act.Should().Throw<OperationCanceledException>().Which.InnerException.Should().BeOfType<OrtException>();
        watch.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(2), "ORT checks the terminate flag between nodes");
    }
}
