using System.Reflection;

namespace OnnxPrune.Tests;

/// <summary>
/// The packages' public surface (README.md, "Library and dotnet tool"): OnnxPrune.Api is the API, OnnxPrune.IR is public
/// because the API takes and returns its models, and OnnxPrune.Pruning exports the report records that
/// <c>PruneResult.Report</c> is made of. Everything else is internal (shared with the parts built on it, the command, the
/// tests and the benchmarks through InternalsVisibleTo), so that the surface does not grow by accident: a type made
/// public on purpose is added here.
/// </summary>
public class PublicSurfaceTests
{
    private static IReadOnlyList<string> Exported(string assembly) =>
        Assembly.Load(assembly).GetExportedTypes().Select(t => t.FullName!).Order(StringComparer.Ordinal).ToList();

    [Theory]
    [InlineData("OnnxPrune.Onnx")]
    [InlineData("OnnxPrune.Runtime")]
    [InlineData("OnnxPrune.Autodiff")]
    [InlineData("OnnxPrune.Training")]
    public void The_implementation_assemblies_export_nothing(string assembly) =>
        Exported(assembly).Should().BeEmpty($"{assembly} is internal to OnnxPrune: the API exposes none of its types");

    [Fact]
    public void Pruning_exports_the_report_records_only()
    {
        // The records PruneResult.Report is made of: the Reports namespace and the rows it lists from other namespaces.
        string[] rows =
        [
            "OnnxPrune.Pruning.Loop.RoundRecord",               // JobReport.Rounds
            "OnnxPrune.Pruning.Pipeline.LayerLatency",          // LayerLatencyReport.Layers
            "OnnxPrune.Pruning.Pipeline.LayerLatencyReport",    // PruneReport.LayerLatency
            "OnnxPrune.Pruning.Policy.Pqi.PqiIteration",        // PqiReport.Trajectory
            "OnnxPrune.Pruning.Recovery.LayerRefitOutcome",     // RecoveryReport.Layers
        ];
        var exported = Exported("OnnxPrune.Pruning");
        exported.Where(t => !t.StartsWith("OnnxPrune.Pruning.Reports.", StringComparison.Ordinal)).Should().BeEquivalentTo(rows);
        exported.Should().Contain("OnnxPrune.Pruning.Reports.PruneReport");
    }

    [Fact]
    public void IR_exports_its_own_namespaces_only() =>
        Exported("OnnxPrune.IR").Should().OnlyContain(t => t.StartsWith("OnnxPrune.IR.", StringComparison.Ordinal))
            .And.Contain(["OnnxPrune.IR.Model", "OnnxPrune.IR.Graph", "OnnxPrune.IR.Node"]);

    [Fact]
    public void Api_exports_the_documented_facade() =>
        Exported("OnnxPrune.Api").Should().BeEquivalentTo(
            "OnnxPrune.Api.ModelSource", "OnnxPrune.Api.PruneOptions", "OnnxPrune.Api.PruneProgress", "OnnxPrune.Api.PruneResult",
            "OnnxPrune.Api.Pruner", "OnnxPrune.Api.RecipeInfo", "OnnxPrune.Api.Recipes", "OnnxPrune.Api.TrainingFailedException",
            "OnnxPrune.Api.UsageException");
}
