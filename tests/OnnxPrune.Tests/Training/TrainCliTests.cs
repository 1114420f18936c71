using System.Runtime.InteropServices;
using System.Text.Json;
using OnnxPrune.IR;
using OnnxPrune.Onnx;
using OnnxPrune.Runtime;
using OnnxPrune.Tests.Cli;
using Attribute = OnnxPrune.IR.Attribute;

namespace OnnxPrune.Tests.Training;

/// <summary>`onnxprune train` and `onnxprune finetune` run as a user runs them (a subprocess).</summary>
[Collection(CliCollection.Name)]
[Trait("Category", "Slow")]
public class TrainCliTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);

    private static CliResult Run(params string[] args) => CliRunner.Run(Timeout, null, args);

    private static string SaveTiny(TempFolder dir)
    {
        var path = dir.File("tiny.onnx");
        OnnxModelFile.Save(TrainingTestSupport.TinyCnn(seed: 1), path);
        return path;
    }

    private static string Npz(TempFolder dir, string name, int n, int c, int h, int w, long[] labels)
    {
        var random = new Random(1);
        var x = Enumerable.Range(0, n * c * h * w).Select(_ => (float)random.NextDouble()).ToArray();
        var path = dir.File(name);
        Npy.WriteNpz(path, compressed: false, ("x", Npy.Array(x, n, c, h, w)), ("y", Npy.Bytes("<i8", MemoryMarshal.AsBytes(labels.AsSpan()).ToArray(), n)));
        return path;
    }

    [Fact]
    public void Finetune_writes_a_model_that_runs_with_metadata_and_removes_its_checkpoint()
    {
        using var dir = TestData.NewTempFolder();
        var model = SaveTiny(dir);
        var output = dir.File("tuned.onnx");
        var r = Run("finetune", model, "--data", "fashion-mnist", "--epochs", "2", "--limit-train", "512", "--limit-test", "300",
            "--batch-size", "64", "--lr", "0.05", "--threads", "2", "--seed", "3", "-o", output, "--json");
        r.ShouldBeClean();
        r.ExitCode.Should().Be(0, r.ToString());
        using var json = JsonDocument.Parse(r.Stdout);
        var root = json.RootElement;
        root.GetProperty("test_images").GetInt32().Should().Be(300);
        root.GetProperty("train_images").GetInt32().Should().Be(512);
        root.GetProperty("history").GetArrayLength().Should().Be(2);
        root.GetProperty("trainable").EnumerateArray().Select(e => e.GetString()).Should().Contain("conv1.conv.weight");
        var accuracy = root.GetProperty("test_accuracy").GetDouble();
        accuracy.Should().BeGreaterThan(root.GetProperty("test_accuracy_before").GetDouble(), "a random network is at chance before");

        var saved = OnnxModelFile.Load(output);
        var meta = saved.MetadataProps.ToDictionary(p => p.Key, p => p.Value);
        meta["dataset"].Should().Be("fashion-mnist");
        meta["test_accuracy"].Should().Be(accuracy.ToString("0.0000", System.Globalization.CultureInfo.InvariantCulture));
        meta["epochs"].Should().Be("2");
        meta["seed"].Should().Be("3");
        meta["normalization"].Should().StartWith("mean=").And.Contain(",std=");
        meta["command"].Should().StartWith("onnxprune finetune ").And.Contain("--epochs 2");
        using var session = InferenceSession.FromFile(output);
        var result = session.Run(new Dictionary<string, TensorData> { ["input"] = TensorData.Create(new float[2 * 28 * 28], 2, 1, 28, 28) });
        result["logits"].Dims.Should().Equal(2, 10);
        File.Exists(output + ".checkpoint.npz").Should().BeFalse("the default checkpoint goes when training finishes");
    }

    [Fact]
    public void Train_builds_the_architecture_trains_and_resumes_from_its_checkpoint()
    {
        using var dir = TestData.NewTempFolder();
        var output = dir.File("r20.onnx");
        var ckptDir = Directory.CreateDirectory(dir.File("ckpt")).FullName;
        string[] common = ["train", "--arch", "resnet20", "--data", "fashion-mnist", "--limit-train", "128", "--limit-test", "64", "--batch-size", "64",
            "--threads", "2", "--seed", "5", "--checkpoint-dir", ckptDir, "-o", output];
        var first = Run([.. common, "--epochs", "1"]);
        first.ShouldBeClean();
        first.ExitCode.Should().Be(0, first.ToString());
        first.Stdout.Should().Contain("test accuracy");
        first.Stderr.Should().Contain("epoch 1/1");
        var checkpoint = Path.Combine(ckptDir, "r20.checkpoint.npz");
        File.Exists(checkpoint).Should().BeTrue("--checkpoint-dir keeps the checkpoint");
        OnnxModelFile.Load(output).MetadataProps.Should().Contain(new KeyValuePair<string, string>("arch", "resnet20"));

        var resumed = Run([.. common, "--epochs", "2", "--resume", checkpoint, "--json"]);
        resumed.ShouldBeClean();
        resumed.ExitCode.Should().Be(0, resumed.ToString());
        using var json = JsonDocument.Parse(resumed.Stdout);
        json.RootElement.GetProperty("resumed_from_epoch").GetInt32().Should().Be(1);
        json.RootElement.GetProperty("history").GetArrayLength().Should().Be(2);
        resumed.Stderr.Should().Contain("epoch 2/2").And.NotContain("epoch 1/2");

        var wrongArch = Run("train", "--arch", "vgg-small", "--data", "fashion-mnist", "--limit-train", "128", "--epochs", "2", "--resume", checkpoint, "-o", dir.File("v.onnx"));
        wrongArch.ShouldFailWithBadInput("checkpoint", "arch", "resnet20");
    }

    [Fact]
    public void Bad_numbers_and_unknown_architectures_exit_2()
    {
        using var dir = TestData.NewTempFolder();
        var o = dir.File("out.onnx");
        string[] ok = ["--data", "fashion-mnist", "-o", o];
        Run(["train", "--arch", "resnet99", "--epochs", "1", .. ok]).ShouldFailWithBadInput("unknown architecture 'resnet99'", "resnet20");
        Run(["train", "--arch", "resnet20", "--epochs", "0", .. ok]).ShouldFailWithBadInput("--epochs", "at least 1", "got 0");
        Run(["train", "--arch", "resnet20", "--epochs", "1", "--lr", "-0.1", .. ok]).ShouldFailWithBadInput("--lr", "positive");
        Run(["train", "--arch", "resnet20", "--epochs", "1", "--momentum", "1.5", .. ok]).ShouldFailWithBadInput("--momentum", "1.5");
        Run(["train", "--arch", "resnet20", "--epochs", "1", "--batch-size", "0", .. ok]).ShouldFailWithBadInput("--batch-size");
        Run(["train", "--arch", "resnet20", "--epochs", "ten", .. ok]).ShouldFailWithBadInput("ten");
        Run(["train", "--arch", "resnet20", "--epochs", "1", "--schedule", "linear", .. ok]).ShouldFailWithBadInput("--schedule", "linear");
        Run(["train", "--arch", "resnet20", "--epochs", "1", "--data", dir.File("missing.npz"), "-o", o]).ShouldFailWithBadInput("missing.npz", "does not exist");
        Run(["train", "--arch", "resnet20", "--epochs", "1", "--resume", dir.File("nope.npz"), .. ok]).ShouldFailWithBadInput("nope.npz", "does not exist");
        File.Exists(o).Should().BeFalse();
    }

    [Fact]
    public void Bad_data_and_models_exit_2_with_a_clear_message()
    {
        using var dir = TestData.NewTempFolder();
        var tiny = SaveTiny(dir);
        var o = dir.File("out.onnx");

        var labels = Npz(dir, "labels.npz", 8, 1, 28, 28, [0, 1, 2, 12, 4, 5, 6, 7]);
        Run("finetune", tiny, "--data", labels, "--epochs", "1", "-o", o).ShouldFailWithBadInput("label", "12", @"\[0, 10\)");

        var rgb = Npz(dir, "rgb.npz", 8, 3, 32, 32, [0, 1, 2, 3, 4, 5, 6, 7]);
        Run("finetune", tiny, "--data", rgb, "--epochs", "1", "-o", o).ShouldFailWithBadInput("3x32x32", @"\[N,1,28,28\]", "does not fit");

        var negative = Npz(dir, "negative.npz", 8, 1, 28, 28, [0, 1, -1, 3, 4, 5, 6, 7]);
        Run("train", "--arch", "resnet20", "--data", negative, "--epochs", "1", "-o", o).ShouldFailWithBadInput("label", "-1");

        var intInput = dir.File("ids.onnx");
        OnnxModelFile.Save(IntInputModel(), intInput);
        Run("finetune", intInput, "--data", "fashion-mnist", "--epochs", "1", "-o", o).ShouldFailWithBadInput("no float input", "ids");

        Run("finetune", tiny, "--data", "fashion-mnist", "--epochs", "1", "-o", tiny).ShouldFailWithBadInput("is the input model");
        var notCheckpoint = dir.File("junk.npz");
        File.WriteAllText(notCheckpoint, "junk");
        Run("finetune", tiny, "--data", "fashion-mnist", "--epochs", "1", "--resume", notCheckpoint, "-o", o).ShouldFailWithBadInput("not an OnnxPrune checkpoint");
        File.Exists(o).Should().BeFalse();
    }

    /// <summary>ids int64[N,4] → Cast → Gemm → logits: a model without a float input.</summary>
    private static Model IntInputModel()
    {
        var graph = new Graph("ids");
        var ids = new Value("ids", DataType.Int64, new Shape([Dim.Symbolic("N"), Dim.Known(4)]));
        graph.AddInput(ids);
        var weight = graph.AddInitializer("w", DenseTensor.FromFloats([4, 3], new float[12]));
        var cast = graph.AddNode(new Node("", "Cast", [ids], ["ids_f"], [Attribute.Int("to", (long)DataType.Float)], "cast"));
        var gemm = graph.AddNode(new Node("", "Gemm", [cast.Outputs[0], weight], ["logits"], [], "gemm"));
        gemm.Outputs[0].ElementType = DataType.Float;
        graph.AddOutput(gemm.Outputs[0]);
        var model = new Model(graph);
        model.OpsetImports[""] = 17;
        return model;
    }
}
