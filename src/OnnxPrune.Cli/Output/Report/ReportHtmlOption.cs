using System.CommandLine;
using OnnxPrune.Pruning.Reports;
using OnnxPrune.Runtime;

namespace OnnxPrune.Cli.Output.Report;

/// <summary>The prune command's --report-html, kept here so that the prune paths (single target and main job) each
/// need one call: the option is read by name, so no options record has to carry it.</summary>
internal static class ReportHtmlOption
{
    public const string Name = "--report-html";

    public static Option<string?> Create() =>
        new(Name) { Description = "Write the report as one self-contained HTML page with charts (default: beside --report, same name with .html)" };

    /// <summary>Writes report.html when --report-html or --report asks for it.</summary>
    public static void WriteIfAsked(ParseResult parse, string input, string? jsonPath, PruneReport report, SessionSettings session)
    {
        if (ReportHtml.PathFor(parse.GetValue<string?>(Name), jsonPath) is not { } path) return;
        Commands.OutputPaths.CheckNotInput(input, path);
        ReportHtml.Write(path, report, RunContext.From(parse, session));
    }
}
