namespace OnnxPrune.IR.Passes;

/// <summary>
/// A graph transformation. A pass keeps no state between runs; it edits the model in place and
/// says whether it changed anything, so a pass manager can iterate to a fixed point.
/// </summary>
public interface IPass
{
    string Name { get; }

    /// <returns>true when the model was changed.</returns>
    bool Run(Model model);
}
