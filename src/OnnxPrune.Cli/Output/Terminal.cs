using Spectre.Console;

namespace OnnxPrune.Cli.Output;

/// <summary>
/// Where a command writes: stdout for results (tables, summaries, JSON), stderr for progress and notes.
/// A stream gets ANSI styling and live redraws only when it is a terminal; a pipe or a file gets plain
/// text as wide as its longest row (no wrapping at an imagined 80 columns) and no escape codes.
/// NO_COLOR (https://no-color.org) keeps the layout and drops colour. --quiet keeps errors and the
/// final result line only: <see cref="Line"/>, tables and progress print nothing then.
/// </summary>
internal sealed class Terminal(IAnsiConsole stdout, IAnsiConsole stderr, bool liveProgress, bool quiet)
{
    /// <summary>The width given to a console that is not a terminal: wide enough that no table row wraps.</summary>
    private const int PlainWidth = 4096;

    /// <summary>Results: tables, the summary, JSON.</summary>
    public IAnsiConsole Out => stdout;

    /// <summary>Progress and notes.</summary>
    public IAnsiConsole Err => stderr;

    /// <summary>stderr is a terminal: progress is a bar redrawn in place; otherwise a plain line now and then.</summary>
    public bool LiveProgress => liveProgress;

    public bool Quiet => quiet;

    /// <summary>How often a progress line is written when stderr is not a terminal.</summary>
    public TimeSpan PlainProgressInterval { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Styling is allowed on stdout (a terminal, without NO_COLOR).</summary>
    public bool Styled => Out.Profile.Capabilities.Ansi;

    /// <summary>The process's own stdout and stderr.</summary>
    public static Terminal FromConsole(bool quiet)
    {
        var noColor = !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("NO_COLOR"));
        bool outTerminal = !Console.IsOutputRedirected, errTerminal = !Console.IsErrorRedirected;
        return new Terminal(Create(Console.Out, outTerminal, noColor), Create(Console.Error, errTerminal, noColor), errTerminal, quiet);
    }

    /// <summary>A console on <paramref name="writer"/>: ANSI and colour only for a terminal. <paramref name="ansi"/>
    /// overrides Spectre's detection of the terminal's escape support (tests render the terminal path into a string).</summary>
    public static IAnsiConsole Create(TextWriter writer, bool terminal, bool noColor, AnsiSupport ansi = AnsiSupport.Detect)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(writer),
            Ansi = terminal ? ansi : AnsiSupport.No,
            ColorSystem = terminal && !noColor ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
            Interactive = terminal ? InteractionSupport.Yes : InteractionSupport.No,
        });
        if (!terminal) console.Profile.Width = PlainWidth;
        return console;
    }

    /// <summary>An informational line on stdout (not with --quiet).</summary>
    public void Line(string text = "")
    {
        if (!Quiet) Out.WriteLine(text);
    }

    /// <summary>The final result line: printed even with --quiet.</summary>
    public void Result(string text) => Out.WriteLine(text);

    /// <summary>A note on stderr (not with --quiet).</summary>
    public void Note(string text)
    {
        if (!Quiet) Err.WriteLine(text);
    }

    /// <summary>A message on stderr that --quiet keeps (what the user must know: a stop, a failure).</summary>
    public void Notice(string text) => Err.WriteLine(text);

    /// <summary>A table on stdout (not with --quiet).</summary>
    public void Write(Table table)
    {
        if (Quiet) return;
        if (Styled)
        {
            Out.Write(table.Render(styled: true));
            return;
        }
        // Spectre pads every cell to its column's width; a pipe gets the lines without the trailing spaces.
        var buffer = new StringWriter();
        Create(buffer, terminal: false, noColor: true).Write(table.Render(styled: false));
        foreach (var line in buffer.ToString().Split('\n').SkipLast(1)) Out.WriteLine(line.TrimEnd());
    }
}
