using OnnxPrune.Onnx.Proto;

namespace OnnxPrune.Tests.Cli;

/// <summary>Wrong command lines: exit code 2, an "error:" line that names the problem, nothing
/// written, nothing run.</summary>
[Collection(CliCollection.Name)]
[Trait("Category", "Slow")]
public class UsageErrorTests : IDisposable
{
    private readonly TempFolder _temp = TestData.NewTempFolder();
    private readonly string _model;

    public UsageErrorTests()
    {
        _model = _temp.File("small.onnx");
        ProtoModels.ConvReluConv().Save(_model);
    }

    public void Dispose() => _temp.Dispose();

    public static TheoryData<string[], string[]> BadCommandLines() => new()
    {
        // { arguments (MODEL stands for a valid model), patterns the error line must match }
        { ["inspect", "MODEL", "--frobnicate"], ["--frobnicate"] },
        { ["profile", "MODEL", "--runs", "1", "--warmup", "0", "--no-such-option", "3"], ["--no-such-option"] },
        { ["prune-everything", "MODEL"], ["prune-everything"] },
        { ["inspect"], ["argument|MODEL"] },
        { ["convert", "MODEL"], ["argument|OUT"] },
        { ["verify", "MODEL"], ["argument|\\bB\\b"] },
        { ["profile", "MODEL", "--runs"], ["--runs"] },
        { ["profile", "MODEL", "--runs", "many"], ["many|--runs"] },
        { ["profile", "MODEL", "--runs", "0"], ["--runs", "\\b0\\b"] },
        { ["profile", "MODEL", "--runs", "-3"], ["--runs"] },
        { ["profile", "MODEL", "--warmup", "-1", "--runs", "1"], ["--warmup"] },
        { ["profile", "MODEL", "--threads", "-1", "--runs", "1", "--warmup", "0"], ["--threads", "-1"] },
        { ["verify", "MODEL", "MODEL", "--threads", "-1"], ["--threads", "-1"] },
        { ["profile", "MODEL", "--batch", "0", "--runs", "1", "--warmup", "0"], ["--batch"] },
        { ["inspect", "MODEL", "--batch", "0"], ["--batch"] },
        { ["inspect", "MODEL", "--batch", "-2"], ["--batch"] },
        { ["verify", "MODEL", "MODEL", "--batch", "0"], ["--batch"] },
        { ["profile", "MODEL", "--device", "tpu", "--runs", "1", "--warmup", "0"], ["--device", "tpu"] },
        { ["verify", "MODEL", "MODEL", "--device", "tpu"], ["--device", "tpu"] },
        { ["verify", "MODEL", "MODEL", "--tolerance", "-1"], ["--tolerance"] },
        { ["verify", "MODEL", "MODEL", "--tolerance", "NaN"], ["--tolerance"] },
        { ["verify", "MODEL", "MODEL", "--tolerance", "Infinity"], ["--tolerance"] },
        { ["convert", "MODEL", "OUTDIR/out.onnx", "--external-data", "sometimes"], ["--external-data", "sometimes"] },
    };

    [Theory]
    [MemberData(nameof(BadCommandLines))]
    public void Bad_command_line_exits_2_and_names_the_problem(string[] args, string[] patterns)
    {
        var outDir = Directory.CreateDirectory(_temp.File("out")).FullName;
        var before = FolderState.Snapshot(_temp.Path);
        var r = CliRunner.Run(args.Select(a => a.Replace("MODEL", _model).Replace("OUTDIR", outDir)).ToArray());
        r.ShouldFailWithBadInput(patterns);
        r.Stdout.Should().BeEmpty($"nothing is reported when the command line is wrong\n{r}");
        FolderState.Snapshot(_temp.Path).Should().Equal(before, "a wrong command line writes nothing");
    }

    [Fact]
    public void Cuda_on_the_cpu_only_library_is_a_clear_error()
    {
        foreach (var args in new[]
                 {
                     new[] { "profile", _model, "--device", "cuda", "--runs", "1", "--warmup", "0" },
                     new[] { "verify", _model, _model, "--device", "cuda" },
                     new[] { "profile", _model, "--device", "CUDA", "--runs", "1", "--warmup", "0" },
                 })
        {
            var r = CliRunner.Run(args);
            r.ShouldFailWithBadInput("cuda");
            r.Stdout.Should().BeEmpty($"{r}");
        }
    }

    [Fact]
    public void Help_lists_the_commands_and_exits_0()
    {
        var r = CliRunner.Run("--help");
        r.ShouldBeClean();
        r.ExitCode.Should().Be(0, $"{r}");
        r.Stdout.Should().Contain("inspect").And.Contain("convert").And.Contain("profile").And.Contain("verify");
        foreach (var command in new[] { "inspect", "convert", "profile", "verify" })
        {
            var sub = CliRunner.Run(command, "--help");
            sub.ExitCode.Should().Be(0, $"{sub}");
            sub.Stdout.Should().Contain(command);
        }
    }

    [Fact]
    public void No_command_at_all_is_a_usage_error()
    {
        var r = CliRunner.Run();
        r.ShouldBeClean();
        r.ExitCode.Should().Be(2, $"a missing command is a wrong command line\n{r}");
    }

    // ------------------------------------------------------------ missing and wrong paths

    public static TheoryData<string> ModelCommands() => new() { "inspect", "convert", "profile", "verify-a", "verify-b" };

    private string[] WithModel(string command, string model) => command switch
    {
        "inspect" => ["inspect", model],
        "convert" => ["convert", model, _temp.File("out.onnx")],
        "profile" => ["profile", model, "--runs", "1", "--warmup", "0"],
        "verify-a" => ["verify", model, _model],
        "verify-b" => ["verify", _model, model],
        _ => throw new ArgumentException(command),
    };

    [Theory]
    [MemberData(nameof(ModelCommands))]
    public void A_model_path_that_does_not_exist_is_named(string command)
    {
        var missing = _temp.File("no-such-model.onnx");
        var r = CliRunner.Run(WithModel(command, missing));
        r.ShouldFailWithBadInput("no-such-model\\.onnx", "does not exist|not found|no such");
        File.Exists(_temp.File("out.onnx")).Should().BeFalse();
    }

    [Theory]
    [MemberData(nameof(ModelCommands))]
    public void A_model_path_that_is_a_folder_is_named(string command)
    {
        var folder = Directory.CreateDirectory(_temp.File("a-folder.onnx")).FullName;
        var r = CliRunner.Run(WithModel(command, folder));
        r.ShouldFailWithBadInput("a-folder\\.onnx", "folder|directory");
        File.Exists(_temp.File("out.onnx")).Should().BeFalse();
    }

    // ------------------------------------------------------------ convert never writes over its input

    private void ConvertMustRefuse(string input, string output, string realInput, params string[] patterns)
    {
        var folder = Path.GetDirectoryName(realInput)!;
        var before = FolderState.Snapshot(folder);
        var r = CliRunner.Run("convert", input, output);
        r.ShouldFailWithBadInput(patterns);
        FolderState.Snapshot(folder).Should().Equal(before, $"the input (and its folder) must be untouched\n{r}");
    }

    [Fact]
    public void Convert_refuses_output_equal_to_input()
    {
        ConvertMustRefuse(_model, _model, _model, "input");
    }

    [Fact]
    public void Convert_refuses_output_equal_to_input_spelled_differently()
    {
        var sub = Directory.CreateDirectory(_temp.File("sub")).FullName;
        var spellings = new[]
        {
            Path.Combine(_temp.Path, ".", "small.onnx"),
            Path.Combine(sub, "..", "small.onnx"),
            _temp.Path + "//small.onnx",
        };
        foreach (var output in spellings) ConvertMustRefuse(_model, output, _model, "input");
        // A relative path, from the model's folder.
        var r = CliRunner.Run(TimeSpan.FromSeconds(60), null, "convert", _model, Path.GetRelativePath(Environment.CurrentDirectory, _model));
        r.ShouldFailWithBadInput("input");
    }

    [Fact]
    public void Convert_refuses_an_output_that_is_a_symlink_to_the_input()
    {
        var link = _temp.File("link.onnx");
        File.CreateSymbolicLink(link, _model);
        ConvertMustRefuse(_model, link, _model, "input");
        File.ResolveLinkTarget(link, returnFinalTarget: false)!.FullName.Should().Be(_model, "the link must stay a link");
    }

    [Fact]
    public void Convert_refuses_an_input_given_through_a_symlink_and_output_its_target()
    {
        var link = _temp.File("link.onnx");
        File.CreateSymbolicLink(link, _model);
        ConvertMustRefuse(link, _model, _model, "input");
    }

    [Fact]
    public void Convert_refuses_an_output_inside_a_symlinked_folder_that_is_the_input_folder()
    {
        // linked/ -> the model's folder, so linked/small.onnx is the input under another name.
        var linked = _temp.File("linked");
        Directory.CreateSymbolicLink(linked, _temp.Path);
        ConvertMustRefuse(_model, Path.Combine(linked, "small.onnx"), _model, "input");
    }

    [Fact]
    public void Convert_refuses_an_input_inside_a_symlinked_folder_and_output_the_real_file()
    {
        var linked = _temp.File("linked");
        Directory.CreateSymbolicLink(linked, _temp.Path);
        ConvertMustRefuse(Path.Combine(linked, "small.onnx"), _model, _model, "input");
    }

    [Fact]
    public void Convert_to_a_hard_link_of_the_input_leaves_the_input_bytes_unchanged()
    {
        var hard = _temp.File("hard.onnx");
        var ln = System.Diagnostics.Process.Start("ln", [_model, hard])!;
        ln.WaitForExit();
        ln.ExitCode.Should().Be(0);
        var bytes = File.ReadAllBytes(_model);
        var r = CliRunner.Run("convert", _model, hard);
        r.ShouldBeClean();
        r.ExitCode.Should().BeOneOf([0, 2], $"{r}");
        File.ReadAllBytes(_model).Should().Equal(bytes, "the input's bytes must never change");
    }

    /// <summary>IN keeps W1 (64x3x3x3 floats) at offset 128 of "b.onnx.data"; converting IN to
    /// b.onnx with external data would write b.onnx.data, the input's own data file.</summary>
    [Fact]
    public void Convert_never_overwrites_the_external_data_file_of_its_input()
    {
        var folder = Directory.CreateDirectory(_temp.File("ext")).FullName;
        var weights = new float[64 * 3 * 3 * 3];
        var random = new Random(3);
        for (int i = 0; i < weights.Length; i++) weights[i] = (float)random.NextDouble();
        var raw = System.Runtime.InteropServices.MemoryMarshal.AsBytes(weights.AsSpan()).ToArray();
        File.WriteAllBytes(Path.Combine(folder, "b.onnx.data"), new byte[128].Concat(raw).ToArray());
        var g = new GraphProto { Name = "external" };
        g.Input.Add(ProtoModels.ValueInfo("x", TensorProto.Types.DataType.Float, 1, 3, 8, 8));
        g.Output.Add(ProtoModels.ValueInfo("y", TensorProto.Types.DataType.Float, 1, 64, 8, 8));
        g.Initializer.Add(ProtoModels.ExternalTensor("W1", TensorProto.Types.DataType.Float, "b.onnx.data", 128, raw.Length, 64, 3, 3, 3));
        g.Node.Add(ProtoModels.Node("conv1", "Conv", ["x", "W1"], ["y"], ProtoModels.Ints("pads", 1, 1, 1, 1)));
        var input = Path.Combine(folder, "a.onnx");
        ProtoModels.Model(g).Save(input);
        CliRunner.Run("inspect", input).ExitCode.Should().Be(0, "the input is a valid model");
        var before = File.ReadAllBytes(Path.Combine(folder, "b.onnx.data"));

        var r = CliRunner.Run("convert", input, Path.Combine(folder, "b.onnx"), "--external-data", "always");

        r.ShouldBeClean();
        r.ExitCode.Should().BeOneOf([0, 2], $"{r}");
        File.ReadAllBytes(Path.Combine(folder, "b.onnx.data")).SequenceEqual(before).Should().BeTrue($"the input's data file is part of the input and must not be overwritten\n{r}");
        var again = CliRunner.Run("inspect", input);
        again.ExitCode.Should().Be(0, $"the input must still load after convert\n{again}");
    }

    [Fact]
    public void Convert_with_external_data_onto_a_folder_named_like_the_data_file_is_bad_input()
    {
        var folder = Directory.CreateDirectory(_temp.File("ext")).FullName;
        Directory.CreateDirectory(Path.Combine(folder, "out.onnx.data"));
        var r = CliRunner.Run("convert", CachedModels.PathOf(CachedModels.BlazeFaceFront), Path.Combine(folder, "out.onnx"), "--external-data", "always");
        r.ShouldFailWithBadInput("out\\.onnx\\.data");
        Directory.EnumerateFileSystemEntries(folder).Select(Path.GetFileName).Should().Equal(["out.onnx.data"], "nothing written, no temp file left");
    }

    [Fact]
    public void Convert_into_a_folder_that_does_not_exist_is_named()
    {
        var output = Path.Combine(_temp.Path, "no-such-folder", "out.onnx");
        var r = CliRunner.Run("convert", _model, output);
        r.ShouldFailWithBadInput("no-such-folder", "does not exist");
        Directory.Exists(Path.Combine(_temp.Path, "no-such-folder")).Should().BeFalse("convert must not create folders");
    }

    [Fact]
    public void Convert_onto_an_existing_folder_is_refused()
    {
        var folder = Directory.CreateDirectory(_temp.File("out-folder.onnx")).FullName;
        var r = CliRunner.Run("convert", _model, folder);
        r.ShouldFailWithBadInput("out-folder\\.onnx", "folder|directory");
        Directory.EnumerateFileSystemEntries(folder).Should().BeEmpty();
        Directory.EnumerateFiles(_temp.Path, "*.tmp", SearchOption.AllDirectories).Should().BeEmpty("no temp file is left");
    }

    [Fact]
    public void Convert_onto_an_existing_file_replaces_it_atomically()
    {
        var output = _temp.File("existing.onnx");
        File.WriteAllText(output, "old contents");
        var r = CliRunner.Run("convert", _model, output);
        r.ShouldBeClean();
        r.ExitCode.Should().Be(0, $"{r}");
        ModelProto.Parser.ParseFrom(File.ReadAllBytes(output)).Should().Be(ModelProto.Parser.ParseFrom(File.ReadAllBytes(_model)));
        Directory.EnumerateFiles(_temp.Path).Select(Path.GetFileName).Order().Should().Equal(["existing.onnx", "small.onnx"], "no temp file is left");
    }
}
