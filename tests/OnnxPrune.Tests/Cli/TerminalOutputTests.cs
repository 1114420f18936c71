using System.Text.RegularExpressions;
using OnnxPrune.Cli.Output;
using OnnxPrune.Tests.Runtime;
using AnsiSupport = Spectre.Console.AnsiSupport;

namespace OnnxPrune.Tests.Cli;

/// <summary>
/// What the terminal shows (issue 16): plain text without escape codes when output is redirected (as here:
/// the tests read the command's pipes), NO_COLOR, --quiet, --json as the only thing on stdout; and, rendered
/// into a string through Spectre.Console with ANSI forced on, the interactive path's table and progress bar.
/// </summary>
[Collection(CliCollection.Name)]
public sealed class TerminalOutputTests
{
    private const char Escape = '\u001b';

    private static string Resnet20 => Path.Combine(OrtTestLibrary.RepositoryRoot, "models", "resnet20-fmnist.onnx");

    [Fact]
    public void Redirected_tables_are_plain_text_that_still_holds_the_data()
    {
        var json = PruneCli.Inspect(Resnet20);
        var r = CliRunner.Run("inspect", Resnet20);
        r.ShouldBeClean();
        r.ExitCode.Should().Be(0, $"{r}");
        (r.Stdout + r.Stderr).Should().NotContain(Escape.ToString(), "a pipe gets no ANSI escape codes");
        r.Stdout.Should().MatchRegex(@"(?m)^op\s+count$", "the histogram's header is a line of its own");
        var histogram = json.Key("op_histogram").EnumerateObject().ToList();
        histogram.Should().NotBeEmpty();
        foreach (var op in histogram)
            r.Stdout.Should().MatchRegex($@"(?m)^{Regex.Escape(op.Name)}\s+{op.Value.GetInt32()}$", $"the histogram row of {op.Name} has its count");
        r.Stdout.Split('\n').Should().NotContain(l => l.EndsWith(' '), "rows carry no padding after their last column");
    }

    [Theory]
    [InlineData("methods")]
    [InlineData("recipes")]
    [InlineData("devices")]
    public void Listing_commands_write_no_escape_codes_with_NO_COLOR(string command)
    {
        var r = CliRunner.Run(CliRunner.DefaultTimeout, new Dictionary<string, string?> { ["NO_COLOR"] = "1" }, command);
        r.ShouldBeClean();
        r.ExitCode.Should().Be(0, $"{r}");
        r.Stdout.Should().NotBeEmpty();
        (r.Stdout + r.Stderr).Should().NotContain(Escape.ToString(), $"{r}");
    }

    [Theory]
    [InlineData("inspect", "MODEL")]
    [InlineData("inspect", "MODEL", "--groups")]
    [InlineData("profile", "MODEL", "--runs", "3", "--warmup", "0")]
    [InlineData("verify", "MODEL", "MODEL")]
    [InlineData("methods")]
    [InlineData("recipes")]
    [InlineData("devices")]
    public void Json_is_the_only_thing_on_stdout(params string[] args)
    {
        var r = CliRunner.Run(args.Select(a => a == "MODEL" ? Resnet20 : a).Append("--json").ToArray());
        var json = JsonOutput.Parse(r); // the whole of stdout is one JSON document
        json.ValueKind.Should().Be(System.Text.Json.JsonValueKind.Object);
        r.Stdout.Should().NotContain(Escape.ToString());
    }

    [Fact]
    public void Quiet_inspect_prints_one_result_line_and_nothing_on_stderr()
    {
        var json = PruneCli.Inspect(Resnet20);
        foreach (var args in new[] { new[] { "--quiet", "inspect", Resnet20 }, new[] { "inspect", Resnet20, "-q" } })
        {
            var r = CliRunner.Run(args);
            r.ShouldBeClean();
            r.ExitCode.Should().Be(0, $"{r}");
            r.Stderr.Should().BeEmpty($"{r}");
            var lines = r.Stdout.TrimEnd('\n').Split('\n');
            lines.Should().ContainSingle($"--quiet keeps the result line only\n{r}");
            lines[0].Should().Contain(json.Key("params").GetInt64().ToString("N0")).And.Contain(json.Key("macs").GetInt64().ToString("N0"));
        }
    }

    [Fact]
    public void Quiet_prune_prints_the_result_line_and_json_prints_only_the_report()
    {
        using var f = new PruneFolders();
        var output = Path.Combine(f.Out, "small.onnx");
        var quiet = PruneCli.Run(Resnet20, "-o", output, "--target-flops", "50%", "--skip-latency", "--quiet");
        quiet.ShouldBeClean();
        quiet.ExitCode.Should().Be(0, $"{quiet}");
        quiet.Stderr.Should().BeEmpty($"{quiet}");
        quiet.Stdout.TrimEnd('\n').Split('\n').Should().ContainSingle($"{quiet}").Which.Should().StartWith("pruned ").And.Contain(output);

        var loud = PruneCli.Run(Resnet20, "-o", output, "--target-flops", "50%", "--skip-latency");
        loud.Stdout.Split('\n').Length.Should().BeGreaterThan(10, "without --quiet the summary tables are printed");
        loud.Stdout.Should().MatchRegex(@"(?m)^MACs\s+[\d,]+\s+[\d,]+\s+0\.\d{3}$", "the before/after table has a MACs row with both counts and their ratio");

        var json = JsonOutput.Parse(PruneCli.Run(Resnet20, "-o", output, "--target-flops", "50%", "--skip-latency", "--json"));
        json.Key("after").Key("macs").GetInt64().Should().BeLessThan(json.Key("before").Key("macs").GetInt64());
    }

    [Fact]
    public void Quiet_finetune_prints_only_its_result_line()
    {
        using var dir = TestData.NewTempFolder();
        var output = dir.File("tuned.onnx");
        var r = CliRunner.Run(TimeSpan.FromSeconds(180), null, "finetune", Resnet20, "--data", "fashion-mnist", "--limit-train", "128", "--limit-test", "64",
            "--epochs", "1", "--threads", "2", "-o", output, "--quiet");
        r.ShouldBeClean();
        r.ExitCode.Should().Be(0, $"{r}");
        r.Stderr.Should().BeEmpty("the notes (normalization, per-epoch lines) are not the result");
        r.Stdout.TrimEnd('\n').Split('\n').Should().ContainSingle($"{r}").Which.Should().MatchRegex($@"^wrote {Regex.Escape(output)}: test accuracy \d+\.\d\d% on 64 images$");
    }

    [Fact]
    public void The_interactive_path_draws_a_framed_table_with_ANSI_styling()
    {
        var (terminal, stdout, _) = Interactive(noColor: false);
        terminal.Write(new Table("layer", "channels").Add("conv1", 64).Add("conv2", 128));
        var text = stdout.ToString();
        text.Should().Contain($"{Escape}[1m", "the header is bold");
        text.Should().Contain("╭").And.Contain("╰", "a terminal gets a rounded frame");
        text.Should().MatchRegex(@"conv2\s*│\s*128", "the cells are in the frame");
    }

    [Fact]
    public void The_interactive_path_draws_a_progress_bar_with_elapsed_time_and_ETA()
    {
        var (terminal, _, stderr) = Interactive(noColor: false);
        using (var progress = new Progress(terminal, "calibration", 1000))
        {
            for (int done = 1; done <= 4; done++)
            {
                progress.Report(done);
                Thread.Sleep(150); // Spectre redraws every 100 ms and estimates the speed from the reports
            }
        }
        var text = stderr.ToString();
        text.Should().Contain($"{Escape}[", "the bar is redrawn in place with escape codes");
        var frames = Regex.Replace(text, @"\u001b\[[0-9;?]*[A-Za-z]", "");
        frames.Should().Contain("calibration").And.Contain("━", "a bar is drawn");
        // About one unit per 150 ms with 996 left: an ETA of minutes (2.5 at that rate), after an elapsed time under a minute.
        frames.Should().MatchRegex(@"calibration ━+\s+0% 00:00:\d\d 00:(0[1-9]|[1-5]\d):\d\d", $"the elapsed time and then the ETA follow the bar:\n{frames}");
    }

    [Fact]
    public void NO_COLOR_keeps_the_bar_and_drops_the_colours()
    {
        const string foreground = @"\u001b\[[0-9;]*(3[0-7]|9[0-7]|38;[25];\d+)m";
        Draw(noColor: false).Should().MatchRegex(foreground, "without NO_COLOR the bar is coloured (the check below can fail)");
        var text = Draw(noColor: true);
        text.Should().Contain("grid").And.Contain("50%").And.Contain($"{Escape}[", "NO_COLOR still redraws the bar in place");
        text.Should().NotMatchRegex(foreground, "no colour codes under NO_COLOR");

        static string Draw(bool noColor)
        {
            var (terminal, _, stderr) = Interactive(noColor);
            using (var progress = new Progress(terminal, "grid", 10))
            {
                progress.Report(5);
                Thread.Sleep(250);
            }
            return stderr.ToString();
        }
    }

    [Fact]
    public void Redirected_progress_is_a_plain_line_at_most_every_interval()
    {
        var err = new StringWriter();
        var plain = new Terminal(Terminal.Create(new StringWriter(), false, false), Terminal.Create(err, false, false), liveProgress: false, quiet: false);
        using (var progress = new Progress(plain, "timing", 10))
            for (int i = 1; i <= 10; i++) progress.Report(i);
        err.ToString().Should().BeEmpty("a short step writes no progress line to a pipe (the interval is 5 s)");

        var every = new Terminal(Terminal.Create(new StringWriter(), false, false), Terminal.Create(err, false, false), liveProgress: false, quiet: false)
            { PlainProgressInterval = TimeSpan.Zero };
        using (var progress = new Progress(every, "timing", 10)) progress.Report(4);
        err.ToString().Should().MatchRegex(@"^timing, 4/10 \(40%\), 0:\d\d elapsed, ETA 0:\d\d\r?\n$").And.NotContain(Escape.ToString());

        var quiet = new StringWriter();
        var silent = new Terminal(Terminal.Create(new StringWriter(), false, false), Terminal.Create(quiet, false, false), liveProgress: true, quiet: true)
            { PlainProgressInterval = TimeSpan.Zero };
        using (var progress = new Progress(silent, "timing", 10)) { progress.Report(4); progress.Line("epoch 1"); }
        quiet.ToString().Should().BeEmpty("--quiet shows no progress");
    }

    [Fact]
    public void The_plain_progress_line_projects_the_ETA_from_the_rate_so_far()
    {
        // 25 of 100 in 30 s: 75 left at the same rate take 90 s.
        Progress.PlainLine("CIE grid", "cells", 25, 100, TimeSpan.FromSeconds(30)).Should().Be("CIE grid: cells, 25/100 (25%), 0:30 elapsed, ETA 1:30");
        Progress.PlainLine("pruning", "round 1", 0, 0, TimeSpan.FromSeconds(61)).Should().Be("pruning: round 1, 1:01 elapsed");
    }

    [Fact]
    public void A_status_with_a_count_moves_the_bar()
    {
        var (terminal, _, stderr) = Interactive(noColor: true);
        using (var progress = new Progress(terminal, "cie"))
        {
            progress.Report("CIE grid: 3/4 cells (0 cached), ETA 00:10");
            Thread.Sleep(250);
        }
        stderr.ToString().Should().Contain("75%", "3/4 in the library's message sets the bar");
    }

    private static (Terminal Terminal, StringWriter Stdout, StringWriter Stderr) Interactive(bool noColor)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var terminal = new Terminal(Terminal.Create(stdout, true, noColor, AnsiSupport.Yes), Terminal.Create(stderr, true, noColor, AnsiSupport.Yes), liveProgress: true, quiet: false);
        return (terminal, stdout, stderr);
    }
}
