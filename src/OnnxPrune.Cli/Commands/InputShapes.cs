using OnnxPrune.IR;
using OnnxPrune.IR.ShapeInference;

namespace OnnxPrune.Cli.Commands;

/// <summary>Concrete input shapes for analysis and runs: the batch axis (a symbolic or unknown
/// first dim) gets the chosen batch size.</summary>
internal static class InputShapes
{
    /// <summary>Sets the batch dim of every graph input (not initializers) and infers shapes.
    /// Edits the in-memory model only; callers that save must not call this.</summary>
    public static ShapeInferenceResult BindBatchAndInfer(Model model, long batch)
    {
        foreach (var input in model.Graph.Inputs)
        {
            if (input.ConstValue is not null || input.Shape is not { Rank: > 0 } shape || shape[0].IsKnown) continue;
            input.Shape = new Shape(new[] { Dim.Known(batch) }.Concat(shape.Dims.Skip(1)));
        }
        return new ShapeInferencer().Run(model);
    }
}
