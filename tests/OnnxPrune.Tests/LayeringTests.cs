using System.Xml.Linq;
using OnnxPrune.Tests.Runtime;

namespace OnnxPrune.Tests;

/// <summary>The parts table of README.md: each assembly uses only the parts before it.</summary>
public class LayeringTests
{
    private static readonly string[] Order =
        ["OnnxPrune.IR", "OnnxPrune.Onnx", "OnnxPrune.Runtime", "OnnxPrune.Autodiff", "OnnxPrune.Training", "OnnxPrune.Pruning", "OnnxPrune.Api", "OnnxPrune.Cli"];

    [Fact]
    public void Each_assembly_references_only_the_parts_before_it()
    {
        var src = Path.Combine(OrtTestLibrary.RepositoryRoot, "src");
        Directory.GetDirectories(src).Select(Path.GetFileName).Should().BeEquivalentTo(Order, "every part is in the table, and only those");
        for (int i = 0; i < Order.Length; i++)
        {
            var project = XDocument.Load(Path.Combine(src, Order[i], Order[i] + ".csproj"));
            var references = project.Descendants("ProjectReference")
                .Select(r => Path.GetFileNameWithoutExtension(r.Attribute("Include")!.Value)).ToList();
            references.Where(r => Array.IndexOf(Order, r) is var at && (at < 0 || at >= i)).Should().BeEmpty(
                $"{Order[i]} may use only {(i == 0 ? "nothing of ours" : string.Join(", ", Order.Take(i)))}");
        }
    }

    [Fact]
    public void Only_the_application_takes_a_native_onnx_runtime_package()
    {
        // A toolchain that loads OnnxPrune's libraries keeps its own ONNX Runtime: the libraries
        // name the managed API only.
        var src = Path.Combine(OrtTestLibrary.RepositoryRoot, "src");
        foreach (var part in Order.Where(p => p != "OnnxPrune.Cli"))
        {
            var packages = XDocument.Load(Path.Combine(src, part, part + ".csproj")).Descendants("PackageReference")
                .Select(r => r.Attribute("Include")!.Value).ToList();
            packages.Should().NotContain(p => p.StartsWith("Microsoft.ML.OnnxRuntime", StringComparison.Ordinal) && p != "Microsoft.ML.OnnxRuntime.Managed",
                part);
        }
    }
}
