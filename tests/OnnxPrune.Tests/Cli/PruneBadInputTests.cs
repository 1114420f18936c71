using OnnxPrune.Onnx.Proto;
using ElemType = OnnxPrune.Onnx.Proto.TensorProto.Types.DataType;

namespace OnnxPrune.Tests.Cli;

/// <summary>
/// Bad input to `onnxprune MODEL -o OUT ...` (issue 3, acceptance): exit code 2, an "error:" line
/// that names the problem, no stack trace, nothing written (no OUT, no report, no temp file), and
/// the input untouched.
/// </summary>
[Collection(CliCollection.Name)]
[Trait("Category", "Slow")]
public class PruneBadInputTests
{
    /// <summary>How to prepare in/ and the arguments to pass; the "error:" line must match every pattern.</summary>
    private sealed record BadCase(Action<PruneFolders> Prepare, Func<PruneFolders, string[]> Args, params string[] Patterns);

    private static void BlazeFace(PruneFolders f) => File.Copy(TestData.RealModel("blazeface-front-128"), f.Model);

    /// <summary>The usual command with <paramref name="options"/> replacing the target.</summary>
    private static Func<PruneFolders, string[]> Prune(params string[] options) =>
        f => new[] { f.Model, "-o", f.Pruned, "--report", f.Report }.Concat(options).ToArray();

    private static readonly Dictionary<string, BadCase> Cases = new()
    {
        ["flops abc"] = new(BlazeFace, Prune("--target-flops", "abc", "--skip-latency"), "--target-flops", "abc"),
        ["flops 0%"] = new(BlazeFace, Prune("--target-flops", "0%", "--skip-latency"), "--target-flops", "0%"),
        ["flops 150%"] = new(BlazeFace, Prune("--target-flops", "150%", "--skip-latency"), "--target-flops", "150%"),
        ["flops -5%"] = new(BlazeFace, Prune("--target-flops", "-5%", "--skip-latency"), "--target-flops", "-5%"),
        ["flops empty"] = new(BlazeFace, Prune("--target-flops", "", "--skip-latency"), "--target-flops"),
        ["flops 50%%"] = new(BlazeFace, Prune("--target-flops", "50%%", "--skip-latency"), "--target-flops", "50%%"),
        ["params abc"] = new(BlazeFace, Prune("--target-params", "abc", "--skip-latency"), "--target-params", "abc"),
        ["params 0%"] = new(BlazeFace, Prune("--target-params", "0%", "--skip-latency"), "--target-params", "0%"),
        ["params more than the model has"] = new(BlazeFace, Prune("--target-params", "5G", "--skip-latency"), "--target-params", "5G"),
        // Several objectives at once are the main job's (MainJobCliTests); --ratio is not one of them.
        ["flops and ratio"] = new(BlazeFace, Prune("--target-flops", "50%", "--ratio", "0.3", "--skip-latency"), "--ratio", "single-shot", "--target-flops"),
        ["no target"] = new(BlazeFace, Prune("--skip-latency"), "target"),
        ["ratio 1.5"] = new(BlazeFace, Prune("--ratio", "1.5", "--skip-latency"), "--ratio", "1\\.5"),
        ["ratio 0"] = new(BlazeFace, Prune("--ratio", "0", "--skip-latency"), "--ratio"),
        ["ratio abc"] = new(BlazeFace, Prune("--ratio", "abc", "--skip-latency"), "ratio|abc"),
        ["round-to 0"] = new(BlazeFace, Prune("--ratio", "0.3", "--round-to", "0", "--skip-latency"), "--round-to"),
        ["round-to -8"] = new(BlazeFace, Prune("--ratio", "0.3", "--round-to", "-8", "--skip-latency"), "round-to"),
        ["round-to larger than every layer"] = new(BlazeFace, Prune("--ratio", "0.3", "--round-to", "100000", "--skip-latency"), "--round-to", "100000"),
        ["max-ratio 1"] = new(BlazeFace, Prune("--ratio", "0.3", "--max-ratio", "1", "--skip-latency"), "--max-ratio"),
        ["unknown criterion"] = new(BlazeFace, Prune("--ratio", "0.3", "--criterion", "l3", "--skip-latency"), "--criterion", "l3"),
        ["unknown allocation"] = new(BlazeFace, Prune("--ratio", "0.3", "--allocation", "greedy", "--skip-latency"), "--allocation", "greedy"),
        ["nothing prunable"] = new(f => SingleConv().Save(f.Model), Prune("--target-flops", "50%", "--skip-latency"), "nothing|no .*prun", "prun"),
        ["nothing prunable, ratio"] = new(f => SingleConv().Save(f.Model), Prune("--ratio", "0.3", "--skip-latency"), "nothing|no .*prun", "prun"),
        ["output is the input"] = new(BlazeFace, f => [f.Model, "-o", f.Model, "--report", f.Report, "--ratio", "0.3", "--skip-latency"], "output", "input"),
        ["output is the input, another spelling"] = new(BlazeFace,
            f => [f.Model, "-o", Path.Combine(f.In, ".", "..", "in", "model.onnx"), "--report", f.Report, "--ratio", "0.3", "--skip-latency"], "output", "input"),
        ["output is a symlink to the input"] = new(f => { BlazeFace(f); File.CreateSymbolicLink(Path.Combine(f.In, "link.onnx"), f.Model); },
            f => [f.Model, "-o", Path.Combine(f.In, "link.onnx"), "--report", f.Report, "--ratio", "0.3", "--skip-latency"], "output", "input"),
        ["input is a symlink to the output"] = new(f => { BlazeFace(f); File.CreateSymbolicLink(Path.Combine(f.In, "link.onnx"), f.Model); },
            f => [Path.Combine(f.In, "link.onnx"), "-o", f.Model, "--report", f.Report, "--ratio", "0.3", "--skip-latency"], "output", "input"),
        ["report is the input"] = new(BlazeFace, f => [f.Model, "-o", f.Pruned, "--report", f.Model, "--ratio", "0.3", "--skip-latency"], "input"),
        ["missing -o"] = new(BlazeFace, f => [f.Model, "--report", f.Report, "--ratio", "0.3", "--skip-latency"], "-o|output"),
        ["output folder does not exist"] = new(BlazeFace, f => [f.Model, "-o", Path.Combine(f.Out, "missing", "pruned.onnx"), "--report", f.Report, "--ratio", "0.3", "--skip-latency"], "missing", "not exist"),
        ["output is a folder"] = new(BlazeFace, f => [f.Model, "-o", f.Out, "--report", f.Report, "--ratio", "0.3", "--skip-latency"], "folder"),
        ["report folder does not exist"] = new(BlazeFace, f => [f.Model, "-o", f.Pruned, "--report", Path.Combine(f.Out, "missing", "report.json"), "--ratio", "0.3", "--skip-latency"], "missing", "not exist"),
        ["threads 0"] = new(BlazeFace, Prune("--ratio", "0.3", "--threads", "0"), "--threads"),
        ["model file does not exist"] = new(_ => { }, Prune("--ratio", "0.3", "--skip-latency"), "model\\.onnx", "not exist"),
        ["not ONNX"] = new(f => File.WriteAllText(f.Model, "this is not a model\n"), Prune("--ratio", "0.3", "--skip-latency"), "not (a valid |an )ONNX model", "model\\.onnx"),
        ["truncated model"] = new(f => File.WriteAllBytes(f.Model, File.ReadAllBytes(TestData.RealModel("blazeface-front-128"))[..100_000]),
            Prune("--ratio", "0.3", "--skip-latency"), "not (a valid |an )ONNX model", "model\\.onnx"),
        ["empty file"] = new(f => File.WriteAllBytes(f.Model, []), Prune("--ratio", "0.3", "--skip-latency"), "model\\.onnx"),
        ["dynamic dims without --input-shape, latency on (ratio)"] = new(f => File.Copy(TestData.RealModel("ppocr-mobile-v2-cls"), f.Model),
            Prune("--ratio", "0.3"), "--input-shape"),
        ["dynamic dims without --input-shape, latency on (flops)"] = new(f => File.Copy(TestData.RealModel("ppocr-mobile-v2-cls"), f.Model),
            Prune("--target-flops", "50%"), "--input-shape"),
        ["bad --input-shape"] = new(f => File.Copy(TestData.RealModel("ppocr-mobile-v2-cls"), f.Model),
            Prune("--ratio", "0.3", "--input-shape", "x=1x3x0x192"), "--input-shape"),
    };

    public static IEnumerable<object[]> CaseNames() => Cases.Keys.Select(k => new object[] { k });

    /// <summary>x[1,3,8,8] -> Conv(W[4,3,3,3], pads 1) -> y: the only conv feeds the graph output.</summary>
    private static ModelProto SingleConv()
    {
        var g = new GraphProto { Name = "single_conv" };
        g.Input.Add(ProtoModels.ValueInfo("x", ElemType.Float, 1, 3, 8, 8));
        g.Output.Add(ProtoModels.ValueInfo("y", ElemType.Float, 1, 4, 8, 8));
        g.Initializer.Add(ProtoModels.FloatTensor("W", new Random(3), 4, 3, 3, 3));
        g.Initializer.Add(ProtoModels.FloatTensor("B", new Random(4), 4));
        g.Node.Add(ProtoModels.Node("conv", "Conv", ["x", "W", "B"], ["y"], ProtoModels.Ints("pads", 1, 1, 1, 1)));
        return ProtoModels.Model(g);
    }

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void Bad_input_exits_2_names_the_problem_and_writes_nothing(string name)
    {
        var c = Cases[name];
        using var f = new PruneFolders();
        c.Prepare(f);
        var inBefore = FolderState.Snapshot(f.In);
        var outBefore = FolderState.Snapshot(f.Out);

        var r = PruneCli.Run(c.Args(f));

        r.ShouldFailWithBadInput(c.Patterns);
        FolderState.Snapshot(f.Out).Should().BeEquivalentTo(outBefore, $"nothing is written: no output, no report, no temp file\n{r}");
        FolderState.Snapshot(f.In).Should().BeEquivalentTo(inBefore, $"the input folder is untouched\n{r}");
    }

    /// <summary>The same bad inputs through `onnxprune prune ...`.</summary>
    [Theory]
    [InlineData("flops 150%")]
    [InlineData("round-to larger than every layer")]
    [InlineData("nothing prunable")]
    [InlineData("output is a symlink to the input")]
    [InlineData("not ONNX")]
    public void Prune_subcommand_rejects_the_same_input(string name)
    {
        var c = Cases[name];
        using var f = new PruneFolders();
        c.Prepare(f);
        var inBefore = FolderState.Snapshot(f.In);

        var r = PruneCli.Run(new[] { "prune" }.Concat(c.Args(f)).ToArray());

        r.ShouldFailWithBadInput(c.Patterns);
        Directory.EnumerateFileSystemEntries(f.Out).Should().BeEmpty($"{r}");
        FolderState.Snapshot(f.In).Should().BeEquivalentTo(inBefore);
    }

    /// <summary>A bad run leaves an older output file as it was.</summary>
    [Fact]
    public void Bad_input_leaves_an_existing_output_unchanged()
    {
        using var f = new PruneFolders();
        SingleConv().Save(f.Model);
        File.WriteAllText(f.Pruned, "an older result");
        File.WriteAllText(f.Report, "{\"older\": true}");

        var r = PruneCli.Run(f.Model, "-o", f.Pruned, "--report", f.Report, "--target-flops", "50%", "--skip-latency");

        r.ShouldFailWithBadInput("prun");
        File.ReadAllText(f.Pruned).Should().Be("an older result");
        File.ReadAllText(f.Report).Should().Be("{\"older\": true}");
        Directory.GetFiles(f.Out).Should().HaveCount(2, "no temp file is left behind");
    }

    [Fact]
    public void Help_lists_the_prune_options()
    {
        var r = PruneCli.Run("prune", "--help");
        r.ShouldBeClean();
        r.ExitCode.Should().Be(0, $"{r}");
        foreach (var option in new[] { "--target-flops", "--target-params", "--ratio", "--criterion", "--allocation", "--round-to", "--report", "-o" })
            r.Stdout.Should().Contain(option);
    }
}
