using System.Diagnostics;

namespace OnnxPrune.Cli.Output;

/// <summary>
/// A progress bar on stderr for work that takes more than a moment. It draws only on a terminal
/// and at most ten times a second, so redirected output stays clean and the bar costs nothing
/// measurable in timed loops.
/// </summary>
public sealed class Progress : IDisposable
{
    private readonly string _label;
    private readonly long _total;
    private readonly bool _enabled;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private long _lastDraw = -1000;

    public Progress(string label, long total, bool enabled = true)
    {
        _label = label;
        _total = Math.Max(1, total);
        _enabled = enabled && !Console.IsErrorRedirected;
    }

    public void Report(long done)
    {
        if (!_enabled) return;
        var now = _clock.ElapsedMilliseconds;
        if (now - _lastDraw < 100 && done < _total) return;
        _lastDraw = now;
        const int width = 30;
        var filled = (int)(width * Math.Min(done, _total) / _total);
        Console.Error.Write($"\r{_label} [{new string('#', filled)}{new string('.', width - filled)}] {done}/{_total} {now / 1000.0:0.0}s ");
    }

    /// <summary>Shows what the work is doing now, for steps that count no units.</summary>
    public void Report(string status)
    {
        if (!_enabled) return;
        _lastDraw = _clock.ElapsedMilliseconds;
        Console.Error.Write($"\r{_label}: {status} {_lastDraw / 1000.0:0.0}s".PadRight(100));
    }

    public void Dispose()
    {
        if (_enabled && _lastDraw >= 0) Console.Error.Write("\r" + new string(' ', 100) + "\r");
    }
}
