using Google.Protobuf;
using OnnxPrune.IR;
using OnnxPrune.Onnx;
using OnnxPrune.Onnx.Proto;
using static OnnxPrune.Tests.Onnx.ProtoBuilders;

namespace OnnxPrune.Tests.Onnx;

public class ExternalDataTests
{
    private static readonly float[] Bias = [0.5f, -1.5f, 2.5f];

    /// <summary>AddRelu with its bias moved to an external file at <paramref name="location"/>.</summary>
    private static string WriteExternalModel(TempFolder dir, string location, bool writeData = true, long offset = 0)
    {
        var m = AddRelu();
        var t = m.Graph.Initializer[0];
        t.ClearRawData();
        t.DataLocation = TensorProto.Types.DataLocation.External;
        t.ExternalData.Add(new StringStringEntryProto { Key = "location", Value = location });
        t.ExternalData.Add(new StringStringEntryProto { Key = "offset", Value = offset.ToString() });
        t.ExternalData.Add(new StringStringEntryProto { Key = "length", Value = "12" });
        if (writeData)
        {
            var bytes = new byte[offset + 12];
            System.Runtime.InteropServices.MemoryMarshal.AsBytes(Bias.AsSpan()).CopyTo(bytes.AsSpan((int)offset));
            File.WriteAllBytes(Path.Combine(dir.Path, location), bytes);
        }
        var path = dir.File("model.onnx");
        File.WriteAllBytes(path, m.ToByteArray());
        return path;
    }

    [Fact]
    public void ExternalDataBesideTheModelIsReadLazilyAndSavedInline()
    {
        using var dir = TestData.NewTempFolder();
        var path = WriteExternalModel(dir, "weights.bin", offset: 64);
        var model = OnnxModelFile.Load(path);
        model.Graph.Initializers["b"].ConstValue!.ToFloatArray().Should().Equal(Bias);

        var outPath = dir.File("inline.onnx");
        OnnxModelFile.Save(model, outPath);
        var saved = ModelProto.Parser.ParseFrom(File.ReadAllBytes(outPath));
        saved.Graph.Initializer[0].DataLocation.Should().Be(TensorProto.Types.DataLocation.Default);
        OnnxModelFile.Load(outPath).Graph.Initializers["b"].ConstValue!.ToFloatArray().Should().Equal(Bias);
    }

    [Fact]
    public void SavingWithExternalDataWritesADataFileThatLoadsBack()
    {
        using var dir = TestData.NewTempFolder();
        var model = OnnxModelFile.FromBytes(AddRelu(Bias).ToByteArray());
        var outPath = dir.File("ext.onnx");
        OnnxModelFile.Save(model, outPath, new SaveOptions { ExternalData = ExternalDataMode.Always, ExternalThresholdBytes = 0 });
        File.Exists(dir.File("ext.onnx.data")).Should().BeTrue();
        var saved = ModelProto.Parser.ParseFrom(File.ReadAllBytes(outPath));
        saved.Graph.Initializer[0].DataLocation.Should().Be(TensorProto.Types.DataLocation.External);
        saved.Graph.Initializer[0].ExternalData.Single(e => e.Key == "location").Value.Should().Be("ext.onnx.data");
        OnnxModelFile.Load(outPath).Graph.Initializers["b"].ConstValue!.ToFloatArray().Should().Equal(Bias);
        Directory.GetFiles(dir.Path).Select(Path.GetFileName).Should().BeEquivalentTo(new[] { "ext.onnx", "ext.onnx.data" }, "no temporary files are left");
    }

    [Fact]
    public void AutoModeGoesExternalWhenTheTensorsExceedTheInlineLimit()
    {
        // The real limit is protobuf's 2 GB; the same switch is exercised here with a small limit.
        using var dir = TestData.NewTempFolder();
        var model = OnnxModelFile.FromBytes(AddRelu(Bias).ToByteArray());
        var big = new float[4096];
        for (int i = 0; i < big.Length; i++) big[i] = i;
        model.Graph.AddInitializer("big", DenseTensor.FromFloats([4096], big));
        OnnxModelFile.Save(model, dir.File("small.onnx"), new SaveOptions { InlineLimitBytes = 1L << 20 });
        File.Exists(dir.File("small.onnx.data")).Should().BeFalse("16 KB is under the limit");
        OnnxModelFile.Save(model, dir.File("over.onnx"), new SaveOptions { InlineLimitBytes = 8 * 1024 });
        File.Exists(dir.File("over.onnx.data")).Should().BeTrue();
        var reloaded = OnnxModelFile.Load(dir.File("over.onnx"));
        reloaded.Graph.Initializers["big"].ConstValue!.ToFloatArray().Should().Equal(big);
        reloaded.Graph.Initializers["b"].ConstValue!.ToFloatArray().Should().Equal(Bias, "small tensors stay inline");
    }

    [Fact]
    public void InlineModeRefusesAModelOverTheLimitAndWritesNothing()
    {
        using var dir = TestData.NewTempFolder();
        var model = OnnxModelFile.FromBytes(AddRelu(Bias).ToByteArray());
        var act = () => OnnxModelFile.Save(model, dir.File("x.onnx"), new SaveOptions { ExternalData = ExternalDataMode.Never, InlineLimitBytes = 4 });
        act.Should().Throw<OnnxFormatException>().WithMessage("*external data*");
        Directory.GetFiles(dir.Path).Should().BeEmpty();
    }

    [Theory]
    [InlineData("/etc/passwd", "absolute")]
    [InlineData("../outside.bin", "'..'")]
    [InlineData("sub/../../outside.bin", "'..'")]
    [InlineData("", "empty")]
    public void LocationsOutsideTheModelFolderAreRefused(string location, string reason)
    {
        using var dir = TestData.NewTempFolder();
        var path = WriteExternalModel(dir, "weights.bin");
        var m = ModelProto.Parser.ParseFrom(File.ReadAllBytes(path));
        m.Graph.Initializer[0].ExternalData.Single(e => e.Key == "location").Value = location;
        File.WriteAllBytes(path, m.ToByteArray());
        var act = () => OnnxModelFile.Load(path);
        act.Should().Throw<OnnxFormatException>().WithMessage($"*'b'*{reason}*");
    }

    [Fact]
    public void ASymlinkThatLeadsOutOfTheFolderIsRefused()
    {
        using var outside = TestData.NewTempFolder();
        var secret = outside.File("secret.bin");
        File.WriteAllBytes(secret, new byte[12]);
        using var dir = TestData.NewTempFolder();
        File.CreateSymbolicLink(dir.File("weights.bin"), secret);
        var path = WriteExternalModel(dir, "weights.bin", writeData: false);
        var act = () => OnnxModelFile.Load(path);
        act.Should().Throw<OnnxFormatException>().WithMessage("*outside the model's folder*");

        // A symlinked folder that leads out is refused the same way.
        using var dir2 = TestData.NewTempFolder();
        Directory.CreateSymbolicLink(dir2.File("data"), outside.Path);
        var path2 = WriteExternalModel(dir2, "weights.bin", writeData: false);
        var m = ModelProto.Parser.ParseFrom(File.ReadAllBytes(path2));
        m.Graph.Initializer[0].ExternalData.Single(e => e.Key == "location").Value = "data/secret.bin";
        File.WriteAllBytes(path2, m.ToByteArray());
        var act2 = () => OnnxModelFile.Load(path2);
        act2.Should().Throw<OnnxFormatException>().WithMessage("*outside the model's folder*");
    }

    [Fact]
    public void ASymlinkThatStaysInsideTheFolderIsFollowed()
    {
        using var dir = TestData.NewTempFolder();
        var path = WriteExternalModel(dir, "real.bin");
        File.CreateSymbolicLink(dir.File("alias.bin"), "real.bin");
        var m = ModelProto.Parser.ParseFrom(File.ReadAllBytes(path));
        m.Graph.Initializer[0].ExternalData.Single(e => e.Key == "location").Value = "alias.bin";
        File.WriteAllBytes(path, m.ToByteArray());
        OnnxModelFile.Load(path).Graph.Initializers["b"].ConstValue!.ToFloatArray().Should().Equal(Bias);
    }

    [Fact]
    public void MissingOrShortDataFilesAreReportedByTensorName()
    {
        using var dir = TestData.NewTempFolder();
        var path = WriteExternalModel(dir, "missing.bin", writeData: false);
        FluentActions.Invoking(() => OnnxModelFile.Load(path)).Should().Throw<OnnxFormatException>().WithMessage("*'b'*does not exist*");

        File.WriteAllBytes(dir.File("missing.bin"), new byte[5]);
        FluentActions.Invoking(() => OnnxModelFile.Load(path)).Should().Throw<OnnxFormatException>().WithMessage("*'b'*only 5 bytes*");
    }

    [Fact]
    public void ModelsGivenAsBytesCannotReachExternalFiles()
    {
        using var dir = TestData.NewTempFolder();
        var path = WriteExternalModel(dir, "weights.bin");
        FluentActions.Invoking(() => OnnxModelFile.FromBytes(File.ReadAllBytes(path))).Should().Throw<OnnxFormatException>().WithMessage("*external*");
    }
}
