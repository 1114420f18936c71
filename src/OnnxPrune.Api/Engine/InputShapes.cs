using System.CommandLine;
using OnnxPrune.IR;
using OnnxPrune.IR.ShapeInference;

namespace OnnxPrune.Api.Engine;

/// <summary>Concrete input shapes for analysis and runs: `--input-shape NAME=1x3x48x192` for
/// inputs with dynamic dims, and the batch size for a dynamic first dim.</summary>
internal static class InputShapes
{
    public static Option<string[]> Option() => new("--input-shape")
    {
        Description = "Shape of an input with dynamic dims, as NAME=D0xD1x... (repeat for several inputs; NAME= may be left out when the model has one input)",
        Arity = ArgumentArity.ZeroOrMore,
        AllowMultipleArgumentsPerToken = false,
    };

    /// <summary>Parses the --input-shape values against the model's graph inputs.</summary>
    public static Dictionary<string, long[]> Parse(string[]? specs, Model model)
    {
        var result = new Dictionary<string, long[]>(StringComparer.Ordinal);
        var inputs = model.Graph.Inputs.Where(i => i.ConstValue is null).ToList();
        foreach (var spec in specs ?? [])
        {
            var eq = spec.LastIndexOf('=');
            string name;
            if (eq < 0)
            {
                if (inputs.Count != 1) throw new UsageException($"--input-shape '{spec}' needs NAME= because the model has {inputs.Count} inputs ({string.Join(", ", inputs.Select(i => i.Name))})");
                name = inputs[0].Name;
            }
            else name = spec[..eq];
            var text = eq < 0 ? spec : spec[(eq + 1)..];
            var parts = text.Split('x', ',');
            var dims = new long[parts.Length];
            for (int i = 0; i < parts.Length; i++)
                if (!long.TryParse(parts[i], out dims[i]) || dims[i] < 1)
                    throw new UsageException($"--input-shape '{spec}': '{parts[i]}' is not a positive size; write e.g. {name}=1x3x224x224");
            var input = inputs.FirstOrDefault(i => i.Name == name)
                ?? throw new UsageException($"--input-shape names '{name}', but the model's inputs are: {string.Join(", ", inputs.Select(i => i.Name))}");
            if (input.Shape is { } declared)
            {
                if (declared.Rank != dims.Length)
                    throw new UsageException($"--input-shape '{spec}' has {dims.Length} dims, but input '{name}' has {declared.Rank}: {declared}");
                for (int i = 0; i < dims.Length; i++)
                    if (declared[i].Value is { } fixedSize && fixedSize != dims[i])
                        throw new UsageException($"--input-shape '{spec}' sets axis {i} to {dims[i]}, but the model fixes it to {fixedSize}");
            }
            result[name] = dims;
        }
        return result;
    }

    /// <summary>Sets the given shapes, then the batch dim of every other input, and infers shapes.
    /// Edits the in-memory model only; callers that save must not call this.</summary>
    public static ShapeInferenceResult BindAndInfer(Model model, long batch, IReadOnlyDictionary<string, long[]> shapes)
    {
        foreach (var input in model.Graph.Inputs)
        {
            if (input.ConstValue is not null) continue;
            if (shapes.TryGetValue(input.Name, out var given)) { input.Shape = new Shape(given); continue; }
            if (input.Shape is not { Rank: > 0 } shape || shape[0].IsKnown) continue;
            input.Shape = new Shape(new[] { Dim.Known(batch) }.Concat(shape.Dims.Skip(1)));
        }
        return new ShapeInferencer().Run(model);
    }
}
