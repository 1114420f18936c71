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

        // Cancel from a dedicated thread: a timer-based CancellationTokenSource fires on the thread
        // pool, which parallel tests on a loaded machine can starve past the end of the run.
        using var cts = new CancellationTokenSource();
        var watch = Stopwatch.StartNew();
        var act = () =>
        {
            var canceller = new Thread(() => { Thread.Sleep(100); cts.Cancel(); }) { IsBackground = true };
            canceller.Start();
            try { session.Run(new Dictionary<string, TensorData> { ["x"] = TensorData.Create(new float[n * n], n, n) }, null, cts.Token); }
            finally { canceller.Join(); }
        };

        act.Should().Throw<OperationCanceledException>().Which.InnerException.Should().BeOfType<OrtException>();
        watch.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(2), "ORT checks the terminate flag between nodes");
    }
}
