using OnnxPrune.Pruning.Pipeline;
using OnnxPrune.Pruning.Policy;
using OnnxPrune.Pruning.Policy.Pqi;

namespace OnnxPrune.Tests.Pruning.Policies;

/// <summary>The PQI loop on the bundled ResNet-20 without data: iterations until the parameter target holds, the
/// trajectory, and the stall the paper's defaults give on nearly dense filter norms.</summary>
public class PqiPrunerTests
{
    private static byte[] ResNet20 => File.ReadAllBytes(Path.Combine(Runtime.OrtTestLibrary.RepositoryRoot, "models", "resnet20-fmnist.onnx"));

    private static DataFreePruneOptions Options(PqiSettings pqi, int roundTo = 1) => new()
    {
        Target = new TargetSpec.Params("30%"),
        Allocation = Allocation.Pqi,
        Constraints = new GroupConstraints { RoundTo = roundTo, SmallStep = Math.Min(4, roundTo) },
        CheckWithRuntime = false,
        Pqi = pqi,
    };

    [Fact]
    public void Iterates_until_the_target_holds_and_records_the_index()
    {
        var run = PqiPruner.Run(ResNet20, null, "resnet20", Options(new PqiSettings { Eta = 0.1 }));
        run.Result.TargetMet.Should().BeTrue(run.StopReason);
        run.Trajectory.Count.Should().BeGreaterThan(1, "one iteration removes at most what the index allows");
        run.Trajectory.Should().OnlyContain(t => t.Kept && t.Index > 0 && t.Index < 1);
        run.Trajectory.Select(t => t.ParamsAfter).Should().BeInDescendingOrder();
        run.Result.ParamsAfter.Should().BeLessThanOrEqualTo((long)(0.30 * run.Result.ParamsBefore));
        run.Result.ParamsAfter.Should().BeGreaterThan((long)(0.25 * run.Result.ParamsBefore), "the last iteration prunes only what the target needs");
    }

    [Fact]
    public void The_global_scope_reaches_the_target_too()
    {
        var run = PqiPruner.Run(ResNet20, null, "resnet20", Options(new PqiSettings { Eta = 0.1, Scope = PqiScope.Global }));
        run.Result.TargetMet.Should().BeTrue(run.StopReason);
        run.Trajectory.Should().OnlyContain(t => t.PruneCount > 0);
    }

    [Fact]
    public void With_the_papers_defaults_dense_norms_stall_and_the_reason_names_the_knobs()
    {
        var run = PqiPruner.Run(ResNet20, null, "resnet20", Options(new PqiSettings(), roundTo: 16));
        run.Result.TargetMet.Should().BeFalse();
        run.StopReason.Should().Contain("--pqi-eta");
    }
}
