using OnnxPrune.IR;
using OnnxPrune.Onnx;
using OnnxPrune.Runtime;
using OnnxPrune.Runtime.Data;

namespace OnnxPrune.Pruning.Pipeline;

/// <summary>
/// The post-write check: a pruned model is loaded and run by ONNX Runtime, beside the original,
/// before anyone gets it, and its outputs must keep the original's shapes. The rewrite's own
/// checks (the verifier, shape inference) cannot see every constraint a kernel has (Resize in
/// linear mode wants scale 1 on some axes, for one), so ORT is the judge.
/// </summary>
internal static class RuntimeCheck
{
    /// <summary>Why ORT cannot run <paramref name="pruned"/> as it runs <paramref name="original"/>, or null when it can
    /// (and when it cannot run the original either: then there is nothing to compare with).</summary>
    public static string? Failure(Model original, Model pruned, DataFreePruneOptions options)
    {
        if (OnnxModelFile.InitializerBytes(original) > options.RuntimeCheckAloneAboveBytes) return BigModelFailure(original, pruned, options);
        Dictionary<string, TensorData> inputs;
        IReadOnlyDictionary<string, long[]> expected;
        try
        {
            using var reference = InferenceSession.FromModel(original, options.Session);
            inputs = Inputs(reference, original, options);
            expected = reference.Run(inputs).ToDictionary(o => o.Key, o => o.Value.Dims.ToArray());
        }
        catch (Exception e) when (e is OrtException or InvalidInputException or Training.TrainingInputException)
        {
            return null;
        }
        try
        {
            using var session = InferenceSession.FromModel(pruned, options.Session);
            var outputs = session.Run(inputs);
            foreach (var (name, dims) in expected)
            {
                if (!outputs.TryGetValue(name, out var got)) return $"output '{name}' is missing";
                if (!got.Dims.SequenceEqual(dims)) return $"output '{name}' has shape [{string.Join(",", got.Dims)}] instead of [{string.Join(",", dims)}]";
            }
            return null;
        }
        catch (Exception e) when (e is OrtException or InvalidInputException)
        {
            return e.Message.ReplaceLineEndings(" ").Trim();
        }
    }

    /// <summary>Models whose tensors take more than this are checked without the original in ORT (the default
    /// of <see cref="DataFreePruneOptions.RuntimeCheckAloneAboveBytes"/>).</summary>
    public const long BigModelBytes = 1L << 30;

    /// <summary>
    /// The check for a model past <see cref="DataFreePruneOptions.RuntimeCheckAloneAboveBytes"/>: ORT runs the pruned model alone, and its
    /// outputs are compared with the shapes the original declares, or that shape inference gives it (a
    /// symbolic dim matches any size).
    /// Opening the original too would hold its whole size in ORT beside the pruned model, and its
    /// .onnx bytes cannot exist past protobuf's 2 GB; the pruned model goes to ORT as a file with
    /// external data (streamed from the tensors, no serialised copy), in a temporary folder.
    /// </summary>
    private static string? BigModelFailure(Model original, Model pruned, DataFreePruneOptions options)
    {
        var folder = Directory.CreateTempSubdirectory("onnxprune-check-");
        try
        {
            var path = Path.Combine(folder.FullName, "pruned.onnx");
            OnnxModelFile.Save(pruned, path, new SaveOptions { ExternalData = ExternalDataMode.Always });
            // What removal left behind goes back before ORT takes the pruned model's size again.
            GC.Collect(2, GCCollectionMode.Aggressive, blocking: true, compacting: true);
            using var session = InferenceSession.FromFile(path, options.Session with { DisablePrepacking = true });
            var outputs = session.Run(Inputs(session, pruned, options));
            // Declared shapes, or inferred where the file declares none (inference reads dims, not weights).
            var inferred = new IR.ShapeInference.ShapeInferencer(new IR.ShapeInference.ShapeInferenceOptions { WriteToGraph = false }).Run(original);
            foreach (var declared in original.Graph.Outputs)
            {
                if (!outputs.TryGetValue(declared.Name, out var got)) return $"output '{declared.Name}' is missing";
                if ((declared.Shape ?? inferred.GetShape(declared)) is not { } shape) continue;
                var fits = shape.Rank == got.Dims.Count && shape.Dims.Select((d, i) => d.Value is not { } v || v == got.Dims[i]).All(x => x);
                if (!fits) return $"output '{declared.Name}' has shape [{string.Join(",", got.Dims)}]; the original declares {shape}";
            }
            return null;
        }
        catch (Exception e) when (e is OrtException or InvalidInputException)
        {
            return e.Message.ReplaceLineEndings(" ").Trim();
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    /// <summary>A few calibration images when the data fits the model, else seeded random inputs at batch 1.</summary>
    private static Dictionary<string, TensorData> Inputs(InferenceSession session, Model model, DataFreePruneOptions options)
    {
        if (options.Calibration is { } data)
        {
            var signature = Training.ClassifierSignature.Of(model);
            signature.CheckData(data.Images);
            var (_, _, batch) = data.Batches(signature, (int)(signature.FixedBatch ?? 4)).First();
            return new Dictionary<string, TensorData> { [signature.InputName] = batch };
        }
        return RandomInputs.Create(session.Inputs, 1, seed: 0, options.InputShapes);
    }

    /// <summary>
    /// The groups whose removal makes ORT fail, by bisection over the groups that lost channels
    /// (delta debugging): a half that fails alone is searched further; when the failure needs groups
    /// from both halves, each half is searched with the other's culprits removed too. Only groups
    /// that take part in the failure are returned.
    /// </summary>
    /// <param name="fails">Whether removing the channels of these groups (and no others) makes ORT fail.</param>
    public static IReadOnlyList<string> Culprits(IReadOnlyList<string> groups, Func<IReadOnlyList<string>, bool> fails) => Search(groups, [], fails);

    private static List<string> Search(IReadOnlyList<string> groups, IReadOnlyList<string> background, Func<IReadOnlyList<string>, bool> fails)
    {
        if (groups.Count <= 1) return groups.ToList();
        var first = groups.Take(groups.Count / 2).ToList();
        var second = groups.Skip(groups.Count / 2).ToList();
        if (fails([.. background, .. first])) return Search(first, background, fails);
        if (fails([.. background, .. second])) return Search(second, background, fails);
        var inSecond = Search(second, [.. background, .. first], fails);
        var inFirst = Search(first, [.. background, .. inSecond], fails);
        return [.. inFirst, .. inSecond];
    }
}
