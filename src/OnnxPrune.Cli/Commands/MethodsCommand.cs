using System.CommandLine;
using OnnxPrune.Cli.Output;
using OnnxPrune.Pruning.Criteria;
using OnnxPrune.Pruning.Policy;

namespace OnnxPrune.Cli.Commands;

/// <summary>`onnxprune methods [--json]`: every criterion and allocation the prune command accepts,
/// read from the same registries its --criterion and --allocation options are checked against.</summary>
internal static class MethodsCommand
{
    private sealed record PaperRow(string Authors, int Year, string Title, string Where);

    private sealed record OptionRow(string Name, string Default, string Meaning);

    private sealed record MethodRow(string Name, string Summary, bool IsDefault, bool NeedsData, IReadOnlyList<OptionRow> Options, PaperRow? Paper)
    {
        /// <summary>The criterion prune uses when --data is given and --criterion is not.</summary>
        public bool IsDefaultWithData { get; init; }
    }

    private sealed record Report(IReadOnlyList<MethodRow> Criteria, IReadOnlyList<MethodRow> Allocations);

    public static Command Create()
    {
        var json = CommonOptions.Json();
        var command = new Command("methods", "List the pruning criteria (--criterion) and allocations (--allocation): what each computes, its options, whether it needs data, its paper") { json };
        command.SetAction(parse =>
        {
            var report = Build();
            if (parse.GetValue(json)) Json.Write(Console.Out, report);
            else Print(report, CommonOptions.Terminal(parse));
            return ExitCodes.Ok;
        });
        return command;
    }

    private static Report Build() => new(
        Criteria.All.Select(c => Row(c.Name, c.Summary, c.Name == Criteria.Default, c.NeedsData, c.Options, c.Paper) with { IsDefaultWithData = c.Name == Criteria.DefaultWithData }).ToList(),
        Allocations.All.Select(a => Row(a.Name, a.Summary, a.Name == Allocations.Default, a.NeedsData, a.Options, a.Paper)).ToList());

    private static MethodRow Row(string name, string summary, bool isDefault, bool needsData, IReadOnlyList<MethodOption> options, Paper? paper) =>
        new(name, summary, isDefault, needsData, options.Select(o => new OptionRow(o.Name, o.Default, o.Meaning)).ToList(),
            paper is null ? null : new PaperRow(paper.Authors, paper.Year, paper.Title, paper.Where));

    private static void Print(Report report, Terminal o)
    {
        Section("criteria (--criterion)", report.Criteria, o);
        o.Line();
        Section("allocations (--allocation)", report.Allocations, o);
        if (o.Quiet) o.Result($"criteria: {string.Join(", ", report.Criteria.Select(r => r.Name))}; allocations: {string.Join(", ", report.Allocations.Select(r => r.Name))}");
    }

    /// <summary>One row per method; its options are one per line of the options cell.</summary>
    private static void Section(string title, IReadOnlyList<MethodRow> rows, Terminal o)
    {
        o.Line(title);
        var table = new Table("name", "default", "data", "what it computes", "options", "paper");
        foreach (var r in rows)
        {
            var tags = new[] { r.IsDefault ? "default" : null, r.IsDefaultWithData ? "default with --data" : null }.OfType<string>().ToList();
            table.Add(r.Name, string.Join(", ", tags), r.NeedsData ? "needs calibration data" : "none (data-free)", r.Summary,
                string.Join("\n", r.Options.Select(opt => $"{opt.Name} (default {opt.Default}): {opt.Meaning}")),
                r.Paper is { } p ? $"{p.Authors} ({p.Year}), \"{p.Title}\", {p.Where}" : "none (a baseline)");
        }
        o.Write(table);
    }
}
