using OnnxPrune.Cli.Output;

namespace OnnxPrune.Cli.Commands;

/// <summary>The library's progress (<see cref="PruneProgress"/>: a stage and its status) on the terminal: one
/// <see cref="Progress"/> line per stage, replaced when the stage changes.</summary>
internal sealed class ProgressStages : IProgress<PruneProgress>, IDisposable
{
    private Progress? _current;
    private string? _stage;

    public void Report(PruneProgress value)
    {
        if (value.Stage != _stage)
        {
            _current?.Dispose();
            _current = new Progress(value.Stage, 1);
            _stage = value.Stage;
        }
        _current!.Report(value.Status);
    }

    public void Dispose() => _current?.Dispose();
}
