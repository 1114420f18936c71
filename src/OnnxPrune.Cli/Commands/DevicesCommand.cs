using System.Reflection;
using System.CommandLine;
using OnnxPrune.Cli.Output;
using OnnxPrune.Runtime;

namespace OnnxPrune.Cli.Commands;

/// <summary>`onnxprune devices`: the ONNX Runtime this build loaded, and which execution
/// providers --device can use here (and why not, for those it cannot).</summary>
internal static class DevicesCommand
{
    private sealed record DeviceRow(string Device, string Provider, bool InBuild, bool Usable, string? Problem);

    private sealed record Report(string OnnxRuntimeVersion, string Package, string? Library, IReadOnlyList<string> Providers, IReadOnlyList<DeviceRow> Devices);

    public static Command Create()
    {
        var json = CommonOptions.Json();
        var command = new Command("devices", "List the execution providers of the loaded ONNX Runtime and whether --device can use each here") { json };
        command.SetAction(parse =>
        {
            var runtime = OrtRuntime.Shared;
            var providers = runtime.GetAvailableProviders();
            var rows = DeviceOptions.Names
                .Select(d =>
                {
                    var name = ExecutionProviders.OrtName(d.Provider);
                    var problem = ExecutionProviders.FindProblem(runtime, d.Provider);
                    return new DeviceRow(d.Name, name, providers.Contains(name), problem is null, problem);
                }).ToList();
            var report = new Report(runtime.VersionString, NativePackage(), runtime.LibraryPath, providers, rows);
            if (parse.GetValue(json))
            {
                Json.Write(Console.Out, report);
                return ExitCodes.Ok;
            }
            var o = CommonOptions.Terminal(parse);
            o.Line($"ONNX Runtime {report.OnnxRuntimeVersion} ({report.Package})");
            if (report.Library is not null) o.Line($"library: {report.Library}");
            o.Line($"providers in this build: {string.Join(", ", providers)}");
            o.Line();
            var table = new Table("--device", "provider", "usable", "why not");
            foreach (var row in rows) table.Add(row.Device, row.Provider, row.Usable ? "yes" : "no", row.Problem ?? "");
            o.Write(table);
            if (o.Quiet) o.Result($"usable devices: {string.Join(", ", rows.Where(r => r.Usable).Select(r => r.Device))}");
            return ExitCodes.Ok;
        });
        return command;
    }

    /// <summary>The native package this build references (set by the csproj from the flavour).</summary>
    private static string NativePackage() =>
        typeof(DevicesCommand).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .FirstOrDefault(a => a.Key == "OnnxRuntimePackage")?.Value ?? "unknown package";
}
