using FluentAssertions;
using OnnxPrune.Cli;

namespace OnnxPrune.Tests.Cli;

/// <summary>
/// Each command's help shows its own arguments only (issue 16): the root carries prune's MODEL (so that
/// `onnxprune MODEL -o OUT` works), and without care every subcommand's help inherited it
/// ("onnxprune [&lt;MODEL&gt;] inspect &lt;MODEL&gt;" and "The .onnx model to prune" under inspect).
/// </summary>
[Collection(CliCollection.Name)]
public class CommandHelpTests
{
    public static TheoryData<string> Commands() => [.. CliApp.BuildRoot().Subcommands.Select(c => c.Name)];

    [Theory]
    [MemberData(nameof(Commands))]
    public void HelpShowsTheCommandsOwnArguments(string name)
    {
        var command = CliApp.BuildRoot().Subcommands.Single(c => c.Name == name);
        var r = CliRunner.Run(name, "--help");
        r.ExitCode.Should().Be(0, r.ToString());
        var lines = r.Stdout.Split('\n').Select(l => l.TrimEnd('\r')).ToList();

        var usage = lines[lines.IndexOf("Usage:") + 1].Trim();
        usage.Should().StartWith($"onnxprune {name}", "the root's MODEL is not part of a subcommand's usage");
        var own = command.Arguments.Where(a => !a.Hidden).Select(a => a.Name).ToList();
        foreach (var a in own) usage.Should().Contain($"<{a}>");

        var listed = ArgumentLines(lines);
        listed.Select(l => l.Split(' ', 2)[0].Trim('<', '>')).Should().Equal(own, "the Arguments section lists the command's own arguments, in order");
        if (name != "prune") r.Stdout.Should().NotContain("The .onnx model to prune");
    }

    [Fact]
    public void RootHelpStillShowsTheModelToPrune()
    {
        var r = CliRunner.Run("--help");
        r.ExitCode.Should().Be(0, r.ToString());
        r.Stdout.Should().Contain("onnxprune [<MODEL>] [command] [options]").And.Contain("The .onnx model to prune");
    }

    /// <summary>The indented lines under "Arguments:" up to the next blank line (none when the section is absent).</summary>
    private static List<string> ArgumentLines(List<string> lines)
    {
        int start = lines.IndexOf("Arguments:");
        if (start < 0) return [];
        return lines.Skip(start + 1).TakeWhile(l => l.Trim().Length > 0).Where(l => l.TrimStart().StartsWith('<')).Select(l => l.Trim()).ToList();
    }
}
