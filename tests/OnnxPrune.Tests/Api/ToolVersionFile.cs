using System.Xml.Linq;
using OnnxPrune.Tests.Runtime;

namespace OnnxPrune.Tests.Api;

/// <summary>The version Directory.Build.props declares, read from the file itself (not from the code under test).</summary>
internal static class ToolVersionFile
{
    public static string VersionPrefix =>
        XDocument.Load(Path.Combine(OrtTestLibrary.RepositoryRoot, "Directory.Build.props")).Descendants("VersionPrefix").Single().Value.Trim();

    /// <summary>The bundled ResNet-20: small (1 MB) and pruned in about a second, always in the checkout.</summary>
    public static string SmallModel => Path.Combine(OrtTestLibrary.RepositoryRoot, "models", "resnet20-fmnist.onnx");
}
