namespace OnnxPrune.Tests;

/// <summary>Where the test suite finds the data sets installed by tools/test.sh.</summary>
internal static class TestData
{
    public const string OnnxTestDataRoot = "/usr/share/libonnx-testdata/data";

    /// <summary>Every model.onnx of ONNX's operator test suite (Debian's libonnx-testdata).</summary>
    public static IReadOnlyList<string> OnnxTestModels()
    {
        if (!Directory.Exists(OnnxTestDataRoot))
            throw new InvalidOperationException($"{OnnxTestDataRoot} is missing: run tools/test.sh, which installs Debian's libonnx-testdata");
        return Directory.EnumerateFiles(OnnxTestDataRoot, "model.onnx", SearchOption.AllDirectories).Order(StringComparer.Ordinal).ToList();
    }

    /// <summary>Folder of the real exported models that tools/prepare-test-data.sh fetches and exports.</summary>
    public static string ModelsFolder =>
        System.IO.Path.Combine(Environment.GetEnvironmentVariable("ONNXPRUNE_CACHE") is { Length: > 0 } cache
            ? cache
            : System.IO.Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "onnxprune"), "models");

    /// <summary>Path of a cached real model (resnet18, mobilenet_v2, blazeface-front-128, blazeface-back-256, ppocr-mobile-v2-cls).</summary>
    public static string RealModel(string name)
    {
        var path = System.IO.Path.Combine(ModelsFolder, name + ".onnx");
        if (!File.Exists(path)) throw new InvalidOperationException($"{path} is missing: run tools/test.sh (it fetches and exports the real models)");
        return path;
    }

    /// <summary>Shapes for real models whose inputs have dynamic spatial dims (PP-OCR's classifier
    /// takes 48x192 text crops).</summary>
    public static IReadOnlyDictionary<string, long[]>? InputShapes(string modelPath) =>
        System.IO.Path.GetFileNameWithoutExtension(modelPath) == "ppocr-mobile-v2-cls"
            ? new Dictionary<string, long[]> { ["x"] = [2, 3, 48, 192] }
            : null;

    public static readonly string[] RealModelNames = ["resnet18", "mobilenet_v2", "blazeface-front-128", "blazeface-back-256", "ppocr-mobile-v2-cls"];

    /// <summary>The torchvision exports of the pruning coverage list small enough for the test
    /// suite (the three largest, wide_resnet50_2, vgg11_bn and alexnet, are covered by
    /// tools/prune-table.sh, which runs the same exactness check).</summary>
    public static readonly string[] TorchvisionTestModels =
    [
        "resnet18", "resnet50", "resnext50_32x4d", "mobilenet_v2", "mobilenet_v3_small", "efficientnet_b0", "densenet121",
        "shufflenet_v2_x1_0", "squeezenet1_1", "googlenet", "mnasnet1_0", "regnet_x_400mf", "regnet_y_400mf",
    ];

    /// <summary>A fresh empty folder under the system temp folder, deleted with the returned scope.</summary>
    public static TempFolder NewTempFolder() => new();
}

internal sealed class TempFolder : IDisposable
{
    public TempFolder()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "onnxprune-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }
    public string File(string name) => System.IO.Path.Combine(Path, name);
    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { }
    }
}
