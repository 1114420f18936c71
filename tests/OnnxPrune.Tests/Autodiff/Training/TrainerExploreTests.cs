using System.Diagnostics;
using OnnxPrune.Autodiff.Data;
using OnnxPrune.Autodiff.Training;
using OnnxPrune.Runtime;
using Xunit.Abstractions;

namespace OnnxPrune.Tests.Autodiff.Training;

public class TrainerExploreTests(ITestOutputHelper output)
{
    [Fact]
    public void Explore()
    {
        var train = TrainingTestSupport.Train(2560);
        foreach (var arch in new[] { "resnet20", "resnet56" })
        {
            var clock = Stopwatch.StartNew();
            using var trainer = new Trainer(OnnxPrune.Autodiff.Architectures.Architectures.Build(arch, 1), new TrainerOptions
            {
                BatchSize = 128, Seed = 1, Normalization = ChannelNormalization.Compute(train),
                Session = new SessionSettings { IntraOpThreads = 2 },
            });
            var setup = clock.Elapsed.TotalSeconds;
            var ips = trainer.MeasureThroughput(train, 3, 20);
            output.WriteLine($"{arch}: setup {setup:0.00}s, {ips:0.0} img/s, total {clock.Elapsed.TotalSeconds:0.0}s, peak working set {Process.GetCurrentProcess().PeakWorkingSet64 / 1e6:0} MB");
        }
    }
}
