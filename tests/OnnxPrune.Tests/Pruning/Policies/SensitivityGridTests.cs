using OnnxPrune.Pruning.Criteria;
using OnnxPrune.Pruning.Pipeline;
using OnnxPrune.Pruning.Policy;
using OnnxPrune.Pruning.Policy.Cie;
using OnnxPrune.Tests.Pruning.Recovery;

namespace OnnxPrune.Tests.Pruning.Policies;

/// <summary>
/// CIE's grid on the bundled ResNet-20 with a small grid and seeded random images (no labels: the metric is the KL
/// divergence to the original's outputs): the on-disk cache (a second run computes nothing, a corrupted cell is
/// recomputed), and shards (two shards and an assembling run compute every cell once and allocate exactly as one
/// unsharded run).
/// </summary>
public sealed class SensitivityGridTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "onnxprune-cie-" + Guid.NewGuid().ToString("N"));
    private static readonly CalibrationSet Images = RecoveryTestSupport.RandomImages(16, 1, 28, 28, seed: 5);

    private static byte[] ResNet20 => File.ReadAllBytes(Path.Combine(Runtime.OrtTestLibrary.RepositoryRoot, "models", "resnet20-fmnist.onnx"));

    private DataFreePruneOptions Options(string cache, Shard? shard = null) => new()
    {
        Target = new TargetSpec.Flops("50%"),
        Allocation = Allocation.Cie,
        Constraints = new GroupConstraints { RoundTo = 1, SmallStep = 1 },
        CheckWithRuntime = false,
        Cie = new CieSettings { Ratios = [0.3, 0.6], Evaluation = Images, CacheDirectory = Path.Combine(_root, cache), Workers = 2, Threads = 2, Shard = shard },
    };

    public void Dispose()
    {
        if (Directory.Exists(_root)) Directory.Delete(_root, recursive: true);
    }

    [Fact]
    public void A_second_run_computes_nothing_and_a_corrupted_cell_is_recomputed()
    {
        var first = SensitivityGrid.ComputeFor(ResNet20, null, Options("a"));
        first.Matrix.Should().NotBeNull();
        first.Metric.Should().Be("kl");
        first.Computed.Should().BeGreaterThan(0);
        first.Cached.Should().Be(0);

        var second = SensitivityGrid.ComputeFor(ResNet20, null, Options("a"));
        second.Computed.Should().Be(0, "every cell is in the cache");
        second.Cached.Should().Be(first.Computed);
        Same(second.Matrix!, first.Matrix!);

        var files = Directory.GetFiles(Path.Combine(_root, "a"), "g*.json", SearchOption.AllDirectories).Order().ToArray();
        files.Should().HaveCount(first.Computed);
        File.WriteAllText(files[0], "{ \"key\": \"not json");
        File.WriteAllText(files[1], File.ReadAllText(files[1]).Replace("\"Value\":", "\"Value\":1").Replace("\"value\":", "\"value\":1")); // checksum no longer matches
        var third = SensitivityGrid.ComputeFor(ResNet20, null, Options("a"));
        third.Computed.Should().Be(2, "a corrupt or tampered entry is recomputed, not trusted");
        Same(third.Matrix!, first.Matrix!);
    }

    [Fact]
    public void Two_shards_and_an_assembling_run_compute_each_cell_once_and_allocate_as_one_run()
    {
        var one = SensitivityGrid.ComputeFor(ResNet20, null, Options("whole"));
        var s1 = SensitivityGrid.ComputeFor(ResNet20, null, Options("shared", new Shard(1, 2)));
        var s2 = SensitivityGrid.ComputeFor(ResNet20, null, Options("shared", new Shard(2, 2)));
        s1.Matrix.Should().BeNull("a shard only fills the cache");
        s1.Computed.Should().BeGreaterThan(0);
        s2.Computed.Should().BeGreaterThan(0);
        (s1.Computed + s2.Computed).Should().Be(one.Computed, "the shards split the cells without overlap");

        var assembled = DataFreePruner.Run(OnnxPrune.Onnx.OnnxModelFile.FromBytes(ResNet20), Options("shared"));
        assembled.CieGrid!.Computed.Should().Be(0, "the assembling run reads every cell");
        var unsharded = DataFreePruner.Run(OnnxPrune.Onnx.OnnxModelFile.FromBytes(ResNet20), Options("whole"));
        assembled.TargetMet.Should().BeTrue();
        assembled.Groups.Select(g => g.ChannelsAfter).Should().Equal(unsharded.Groups.Select(g => g.ChannelsAfter));
        assembled.MacsAfter.Should().Be(unsharded.MacsAfter);
    }

    [Fact]
    public void Without_held_out_images_cie_is_refused() =>
        FluentActions.Invoking(() => SensitivityGrid.ComputeFor(ResNet20, null, Options("x") with { Cie = new CieSettings() }))
            .Should().Throw<PruneInputException>().Where(e => e.Problem == PruneInputProblem.NeedsData);

    private static void Same(ContributionMatrix a, ContributionMatrix b)
    {
        a.Rows.Keys.Should().BeEquivalentTo(b.Rows.Keys);
        foreach (var (key, row) in a.Rows) row.Should().Equal(b.Rows[key]);
    }
}
