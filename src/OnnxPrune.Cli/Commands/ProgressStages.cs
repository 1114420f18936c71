using OnnxPrune.Cli.Output;

namespace OnnxPrune.Cli.Commands;

/// <summary>The library's progress (<see cref="PruneProgress"/>: a stage and its status) on the terminal: one
/// <see cref="Progress"/> line per stage, replaced when the stage changes.</summary>
internal sealed class ProgressStages(Terminal terminal) : IProgress<PruneProgress>, IDisposable
{
    private Progress? _current;
    private string? _stage;

    public void Report(PruneProgress value)
    {
        if (value.Stage != _stage)
        {
            _current?.Dispose();
            _current = new Progress(terminal, value.Stage);
            _stage = value.Stage;
        }
        if (value.Total > 0) _current!.Report(value.Done, value.Total, value.Status);
        else _current!.Report(value.Status);
    }

    public void Dispose() => _current?.Dispose();
}
