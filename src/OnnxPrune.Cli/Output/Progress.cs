using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using OnnxPrune.Pruning.Pipeline;
using OnnxPrune.Training;
using Spectre.Console;

namespace OnnxPrune.Cli.Output;

/// <summary>
/// Progress of one long step, on stderr so that stdout stays the result (and one JSON document with --json).
/// On a terminal it is a Spectre.Console bar redrawn in place with the elapsed time and an ETA; on a pipe
/// it is a plain line at most every <see cref="Terminal.PlainProgressInterval"/> (none for a short step);
/// with --quiet it prints nothing. Reports cost a field write, so timed loops may report freely.
/// </summary>
internal sealed partial class Progress : IDisposable
{
    private readonly Terminal _terminal;
    private readonly string _label;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly ProgressTask? _task;
    private readonly TaskCompletionSource? _finish;
    private readonly Task? _display;
    private TimeSpan _lastLine;
    private long _total;

    public Progress(Terminal terminal, string label, long total = 0)
    {
        _terminal = terminal;
        _label = label;
        _total = total;
        if (terminal.Quiet || !terminal.LiveProgress) return;
        // Spectre draws while a callback runs; the callback here waits until Dispose, so the work can stay on
        // the caller's thread and report through this object.
        var started = new TaskCompletionSource<ProgressTask>(TaskCreationOptions.RunContinuationsAsynchronously);
        _finish = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _display = terminal.Err.Progress()
            .AutoClear(true)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn { Width = BarWidth }, new PercentageColumn(),
                new ElapsedTimeColumn(), new RemainingTimeColumn(), new SpinnerColumn())
            .StartAsync(async context =>
            {
                var task = context.AddTask(Escape(label), maxValue: Math.Max(1, total));
                task.IsIndeterminate = total <= 0;
                started.SetResult(task);
                await _finish.Task;
            });
        _task = started.Task.GetAwaiter().GetResult();
    }

    /// <summary><paramref name="done"/> of the total given at the start.</summary>
    public void Report(long done) => Report(done, _total, null);

    /// <summary>What the step does now. A count "k/n" in it ("CIE grid: 3/40 cells") moves the bar.</summary>
    public void Report(string status)
    {
        var count = Count().Match(status);
        if (count.Success) Report(long.Parse(count.Groups[1].Value, CultureInfo.InvariantCulture), long.Parse(count.Groups[2].Value, CultureInfo.InvariantCulture), status);
        else Report(0, 0, status);
    }

    /// <summary><paramref name="done"/> of <paramref name="total"/> (0: unknown), with what the step does now.</summary>
    public void Report(long done, long total, string? status)
    {
        if (_terminal.Quiet) return;
        if (total > 0) _total = total;
        if (_task is not null)
        {
            if (status is not null) _task.Description = Escape(Fit($"{_label}: {status}", _terminal.Err.Profile.Width - ColumnsWidth));
            _task.IsIndeterminate = total <= 0;
            _task.MaxValue = Math.Max(1, total);
            _task.Value = Math.Clamp(done, 0, Math.Max(1, total)); // a status without a count restarts the bar at 0
            return;
        }
        var now = _clock.Elapsed;
        if (now - _lastLine < _terminal.PlainProgressInterval) return;
        _lastLine = now;
        _terminal.Err.WriteLine(PlainLine(_label, status, done, total, now));
    }

    /// <summary>Training's batches: the bar spans all epochs; the status names the epoch, loss, accuracy and speed.</summary>
    public void Report(TrainingProgress p, string? label = null) =>
        Report((long)(p.Epoch - 1) * p.BatchesPerEpoch + p.Batch, (long)p.Epochs * p.BatchesPerEpoch,
            $"{(label is null ? "" : label + ", ")}epoch {p.Epoch}/{p.Epochs}, loss {p.Loss:0.0000}, acc {p.Accuracy * 100:0.0}%, {p.ImagesPerSecond:0} img/s");

    /// <summary>A line that belongs above the bar (an epoch's result); with --quiet, nothing.</summary>
    public void Line(string text)
    {
        if (!_terminal.Quiet) _terminal.Err.WriteLine(text);
    }

    /// <summary>The line a pipe gets: "label: status, 3/10 (30%), 0:12 elapsed, ETA 0:28".</summary>
    internal static string PlainLine(string label, string? status, long done, long total, TimeSpan elapsed)
    {
        var line = status is null ? label : $"{label}: {status}";
        if (total <= 0) return $"{line}, {Clock(elapsed)} elapsed";
        line += $", {done}/{total} ({100.0 * done / total:0}%), {Clock(elapsed)} elapsed";
        return done > 0 ? line + $", ETA {Clock(elapsed * ((double)(total - done) / done))}" : line;
    }

    private static string Clock(TimeSpan t) => t.TotalHours >= 1 ? t.ToString(@"h\:mm\:ss", CultureInfo.InvariantCulture) : t.ToString(@"m\:ss", CultureInfo.InvariantCulture);

    private static string Escape(string text) => Markup.Escape(text);

    /// <summary>The bar's width in characters.</summary>
    private const int BarWidth = 24;

    /// <summary>What the columns after the description take: the bar, "100%", elapsed and ETA clocks, the spinner, the gaps.</summary>
    private const int ColumnsWidth = BarWidth + 4 + 8 + 8 + 1 + 5;

    /// <summary>The description cut to <paramref name="width"/> so that the columns stay on one line.</summary>
    private static string Fit(string text, int width) => text.Length <= Math.Max(20, width) ? text : text[..(Math.Max(20, width) - 1)] + "…";

    [GeneratedRegex(@"(\d+)/(\d+)")]
    private static partial Regex Count();

    /// <summary>Ends the bar (it is cleared from the terminal). Callers may end it early, before printing a summary.</summary>
    public void Dispose()
    {
        if (_finish is null || _display is null) return;
        _task?.StopTask();
        _finish.TrySetResult();
        _display.GetAwaiter().GetResult();
    }
}
