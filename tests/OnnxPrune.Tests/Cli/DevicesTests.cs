using System.Diagnostics;
using System.Text.Json;
using OnnxPrune.Tests.Runtime;

namespace OnnxPrune.Tests.Cli;

/// <summary>
/// `onnxprune devices` and --device on both flavours: the CPU build the tests reference, and the
/// GPU build (Microsoft.ML.OnnxRuntime.Gpu), which this fixture builds once with the README's
/// switch (ONNXPRUNE_ONNXRUNTIME_FLAVOUR=gpu ./onnxprune) into artifacts/cli-gpu.
/// </summary>
[Collection(CliCollection.Name)]
[Trait("Category", "Slow")]
public class DevicesTests
{
    private static readonly Lazy<string> GpuBuild = new(BuildGpuFlavour);

    /// <summary>What this machine has: the tests assert the behaviour that follows from it.</summary>
    private static bool MachineHasNvidiaGpu => File.Exists("/proc/driver/nvidia/version") || File.Exists("/dev/nvidia0");

    [Fact]
    public void The_cpu_build_reports_onnx_runtime_1_32_from_the_cpu_package()
    {
        var r = CliRunner.Run("devices", "--json");
        r.ExitCode.Should().Be(0, r.ToString());
        using var doc = JsonDocument.Parse(r.Stdout);
        doc.RootElement.GetProperty("onnx_runtime_version").GetString().Should().Be("1.32.0");
        doc.RootElement.GetProperty("package").GetString().Should().Be("Microsoft.ML.OnnxRuntime 1.32.0");
        doc.RootElement.GetProperty("providers").EnumerateArray().Select(p => p.GetString()).Should().Equal("CPUExecutionProvider");
        var cuda = Device(doc, "cuda");
        cuda.GetProperty("usable").GetBoolean().Should().BeFalse();
        cuda.GetProperty("problem").GetString().Should().Contain("built without it");
        Device(doc, "cpu").GetProperty("usable").GetBoolean().Should().BeTrue();
    }

    [Theory]
    [InlineData("cuda")]
    [InlineData("tensorrt")]
    public void The_cpu_build_refuses_a_gpu_device_before_any_work_and_names_the_gpu_package(string device)
    {
        using var f = new PruneFolders();
        ProtoModels.ConvReluConv().Save(f.Model);
        var r = CliRunner.Run(f.Model, "-o", f.Pruned, "--target-flops", "50%", "--device", device);
        r.ShouldFailWithBadInput($"--device {device}", "Microsoft.ML.OnnxRuntime.Gpu");
        Directory.EnumerateFileSystemEntries(f.Out).Should().BeEmpty("nothing is written when the device cannot run");
    }

    [Fact]
    public void The_gpu_flavour_builds_and_lists_the_gpu_providers()
    {
        var r = CliRunner.RunDll(GpuBuild.Value, CliRunner.DefaultTimeout, null, "devices", "--json");
        r.ExitCode.Should().Be(0, r.ToString());
        using var doc = JsonDocument.Parse(r.Stdout);
        doc.RootElement.GetProperty("onnx_runtime_version").GetString().Should().Be("1.32.0");
        doc.RootElement.GetProperty("package").GetString().Should().Be("Microsoft.ML.OnnxRuntime.Gpu 1.32.0");
        doc.RootElement.GetProperty("providers").EnumerateArray().Select(p => p.GetString())
            .Should().Contain(["CUDAExecutionProvider", "TensorrtExecutionProvider", "CPUExecutionProvider"]);
        Device(doc, "cuda").GetProperty("usable").GetBoolean().Should().Be(MachineHasNvidiaGpu);
    }

    [Fact]
    public void The_gpu_flavour_with_device_cuda_exits_2_without_a_gpu_and_runs_with_one()
    {
        using var f = new PruneFolders();
        ProtoModels.ConvReluConv().Save(f.Model);
        var r = CliRunner.RunDll(GpuBuild.Value, CliRunner.DefaultTimeout, null, "profile", f.Model, "--device", "cuda", "--runs", "3", "--warmup", "1");
        if (MachineHasNvidiaGpu)
        {
            // A GPU machine either runs it or, without the CUDA/cuDNN libraries, says which are missing.
            r.ShouldBeClean();
            if (r.ExitCode != 0) r.ShouldFailWithBadInput("CUDA", "cuDNN");
        }
        else
        {
            r.ShouldFailWithBadInput("--device cuda", "no NVIDIA GPU");
        }
    }

    private static JsonElement Device(JsonDocument doc, string name) =>
        doc.RootElement.GetProperty("devices").EnumerateArray().Single(d => d.GetProperty("device").GetString() == name);

    private static string BuildGpuFlavour()
    {
        var root = OrtTestLibrary.RepositoryRoot;
        var start = new ProcessStartInfo("bash", [Path.Combine(root, "onnxprune"), "--version"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.Environment["ONNXPRUNE_ONNXRUNTIME_FLAVOUR"] = "gpu";
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        process.StandardOutput.ReadToEnd();
        if (!process.WaitForExit(TimeSpan.FromMinutes(10))) process.Kill(entireProcessTree: true);
        process.WaitForExit();
        if (process.ExitCode != 0) throw new InvalidOperationException($"the GPU flavour did not build (exit {process.ExitCode}):\n{stderr.Result}");
        return Path.Combine(root, "artifacts", "cli-gpu", "onnxprune.dll");
    }
}
