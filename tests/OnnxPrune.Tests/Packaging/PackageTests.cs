using System.IO.Compression;
using System.Xml.Linq;
using OnnxPrune.Onnx;
using OnnxPrune.Tests.Api;
using OnnxPrune.Tests.Cli;
using OnnxPrune.Tests.Runtime;

namespace OnnxPrune.Tests.Packaging;

/// <summary>
/// The packages as a toolchain gets them: `dotnet pack` makes the libraries and the dotnet tool; the tool installs with
/// `dotnet tool install --tool-path` and runs; a fresh console project referencing the library package builds and runs
/// the sample (samples/OnnxPrune.Sample/Program.cs).
/// </summary>
[Collection(CliCollection.Name)]
[Trait("Category", "Slow")]
public class PackageTests(PackedRelease packed) : IClassFixture<PackedRelease>
{
    [Fact]
    public void Pack_makes_every_library_with_readme_licence_symbols_and_the_tool()
    {
        foreach (var id in PackedRelease.LibraryIds.Append(PackedRelease.ToolId))
        {
            File.Exists(packed.Package(id)).Should().BeTrue($"{id} is packed\n{packed.PackOutput}");
            using var zip = ZipFile.OpenRead(packed.Package(id));
            zip.GetEntry("README.md").Should().NotBeNull($"{id} carries the README");
            var nuspec = XDocument.Load(zip.GetEntry($"{id}.nuspec")!.Open());
            var metadata = nuspec.Root!.Elements().Single(e => e.Name.LocalName == "metadata");
            string Field(string name) => metadata.Elements().Single(e => e.Name.LocalName == name).Value;
            Field("version").Should().Be(packed.Version);
            Field("license").Should().Be("MIT");
            Field("readme").Should().Be("README.md");
            if (id == PackedRelease.ToolId) continue;
            File.Exists(packed.Package(id, "snupkg")).Should().BeTrue($"{id} has a symbol package");
            zip.GetEntry($"lib/net10.0/{id}.dll").Should().NotBeNull();
        }
        using (var api = ZipFile.OpenRead(packed.Package("OnnxPrune.Api")))
        {
            api.GetEntry("lib/net10.0/OnnxPrune.Api.xml").Should().NotBeNull("the public API's XML docs ship with it");
            api.GetEntry("contentFiles/any/any/passes/data-free.json").Should().NotBeNull("recipes ship with the library");
        }
        using var tool = ZipFile.OpenRead(packed.Package(PackedRelease.ToolId));
        var settings = XDocument.Load(tool.Entries.Single(e => e.FullName.EndsWith("DotnetToolSettings.xml", StringComparison.Ordinal)).Open());
        settings.Descendants("Command").Single().Attribute("Name")!.Value.Should().Be("onnxprune");
        var natives = tool.Entries.Select(e => e.FullName).Where(n => n.Contains("/runtimes/", StringComparison.Ordinal)).ToList();
        natives.Should().Contain(n => n.EndsWith("runtimes/linux-x64/native/libonnxruntime.so", StringComparison.Ordinal));
        natives.Should().NotContain(n => n.EndsWith(".pdb", StringComparison.Ordinal) || n.Contains("/runtimes/ios/", StringComparison.Ordinal) ||
                                         n.Contains("/runtimes/android/", StringComparison.Ordinal), "the tool carries the 64-bit desktop natives only, without native symbols");
    }

    [Fact]
    public void The_installed_tool_prints_its_version_and_prunes_a_model_with_a_shipped_recipe()
    {
        var tools = packed.NewFolder("tools");
        var install = PackedRelease.Dotnet(tools, "tool", "install", "--tool-path", tools, "--add-source", packed.Feed, PackedRelease.ToolId, "--version", packed.Version);
        install.ExitCode.Should().Be(0, $"{install}");
        var onnxprune = Path.Combine(tools, "onnxprune");

        var version = CliRunner.RunProcess(onnxprune, ["--version"], tools, PackedRelease.Timeout);
        version.ExitCode.Should().Be(0, $"{version}");
        version.Stdout.Trim().Should().Be(packed.Version);

        var output = Path.Combine(tools, "pruned.onnx");
        var report = Path.Combine(tools, "report.json");
        var prune = CliRunner.RunProcess(onnxprune, [ToolVersionFile.SmallModel, "-o", output, "--report", report, "--recipe", "data-free", "--skip-latency"],
            tools, PackedRelease.Timeout);
        prune.ExitCode.Should().Be(0, $"{prune}");
        prune.Stderr.Should().Contain("recipe data-free", "the recipes ship inside the tool");
        var json = PruneCli.ReadReport(report);
        json.Key("tool_version").GetString().Should().Be(packed.Version);
        json.Key("criterion").GetString().Should().Be("l1", "data-free.json's criterion");
        json.Key("after").Long("macs").Should().BeLessThanOrEqualTo(json.Key("before").Long("macs") / 2, "data-free.json: --target-flops 50%");
        OnnxModelFile.Load(output).ProducerVersion.Should().Be(packed.Version);
    }

    [Fact]
    public void A_fresh_console_project_referencing_the_library_package_runs_the_sample()
    {
        var project = packed.NewFolder("sample");
        File.WriteAllText(Path.Combine(project, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <add key="onnxprune-test-feed" value="{packed.Feed}" />
              </packageSources>
            </configuration>
            """);
        File.WriteAllText(Path.Combine(project, "Sample.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <Nullable>enable</Nullable>
                <ImplicitUsings>enable</ImplicitUsings>
              </PropertyGroup>
              <ItemGroup>
                <PackageReference Include="OnnxPrune.Api" Version="{packed.Version}" />
                <PackageReference Include="Microsoft.ML.OnnxRuntime" Version="{PackedRelease.OnnxRuntimeVersion}" />
              </ItemGroup>
            </Project>
            """);
        File.Copy(Path.Combine(OrtTestLibrary.RepositoryRoot, "samples", "OnnxPrune.Sample", "Program.cs"), Path.Combine(project, "Program.cs"));
        var build = PackedRelease.Dotnet(project, "build", "-c", "Release", "-o", Path.Combine(project, "out"));
        build.ExitCode.Should().Be(0, $"{build}");

        var output = Path.Combine(project, "pruned.onnx");
        var run = CliRunner.RunProcess("dotnet", [Path.Combine(project, "out", "Sample.dll"), ToolVersionFile.SmallModel, output, "50%"], project, PackedRelease.Timeout);
        run.ExitCode.Should().Be(0, $"{run}");
        run.Stdout.Should().Contain($"OnnxPrune {packed.Version}: MACs").And.Contain("target met");
        OnnxModelFile.Load(output).ProducerName.Should().Be("onnxprune");
        // Counted by this checkout's `onnxprune inspect`, not by the sample: the written file keeps at most 50% of the MACs.
        PruneCli.Inspect(output).Long("macs").Should().BeLessThanOrEqualTo((long)(PruneCli.Inspect(ToolVersionFile.SmallModel).Long("macs") * 0.5));
    }

    [Fact]
    public void The_gpu_flavour_is_a_tool_package_of_its_own()
    {
        var cli = Path.Combine(OrtTestLibrary.RepositoryRoot, "src", "OnnxPrune.Cli", "OnnxPrune.Cli.csproj");
        string Id(string flavour)
        {
            var r = PackedRelease.Dotnet(OrtTestLibrary.RepositoryRoot, "msbuild", cli, "-getProperty:PackageId", $"-p:OnnxRuntimeFlavour={flavour}");
            r.ExitCode.Should().Be(0, $"{r}");
            return r.Stdout.Trim();
        }
        Id("cpu").Should().Be("OnnxPrune.Tool");
        Id("gpu").Should().Be("OnnxPrune.Tool.Gpu");
    }
}
