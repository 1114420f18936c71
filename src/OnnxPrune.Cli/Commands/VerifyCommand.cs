using System.CommandLine;
using OnnxPrune.Cli.Output;
using OnnxPrune.IR;
using OnnxPrune.Runtime;
using OnnxPrune.Runtime.Data;
using OnnxPrune.Training.Data;

namespace OnnxPrune.Cli.Commands;

/// <summary>
/// `onnxprune verify A B`: runs both models with ONNX Runtime on the same inputs (seeded random,
/// or from an .npz) and compares every output. An output passes when its largest absolute
/// difference is at most TOLERANCE times its scale, max(1, max |A|): a tolerance that means the
/// same for logits of size 10 and of size 0.01.
/// </summary>
internal static class VerifyCommand
{
    public static Command Create()
    {
        var a = CommonOptions.Model("A");
        var b = CommonOptions.Model("B");
        var inputsFile = new Option<string?>("--inputs") { Description = "An .npz with one array per model input (by input name, or in input order)" };
        var tolerance = new Option<double>("--tolerance") { Description = "Largest allowed |A-B|, relative to max(1, max|A|) per output", DefaultValueFactory = _ => 1e-4 }
            .Within(v => v >= 0, "a non-negative number");
        var batch = new Option<int>("--batch") { Description = "Batch size of the random inputs", DefaultValueFactory = _ => 1 }.AtLeast(1);
        var seed = new Option<int>("--seed") { Description = "Seed of the random inputs", DefaultValueFactory = _ => 0 };
        var threads = DeviceOptions.Threads();
        var inputShape = InputShapes.Option();
        var device = DeviceOptions.Device();
        var json = CommonOptions.Json();
        var command = new Command("verify", "Check that two models compute the same outputs (exit 1 when they differ beyond the tolerance)")
            { a, b, inputsFile, tolerance, batch, seed, inputShape, threads, device, json };
        command.SetAction(parse =>
        {
            var pathA = parse.GetValue(a)!;
            var pathB = parse.GetValue(b)!;
            var tol = parse.GetValue(tolerance);
            var n = parse.GetValue(batch);
            var settings = DeviceOptions.Settings(parse.GetValue(device)!, parse.GetValue(threads));
            var modelA = CommonOptions.Load(pathA);
            CommonOptions.Load(pathB);
            var shapes = InputShapes.Parse(parse.GetValue(inputShape), modelA);
            var result = Compare(pathA, pathB, parse.GetValue(inputsFile), tol, n, parse.GetValue(seed), shapes, settings);
            if (parse.GetValue(json)) Json.Write(Console.Out, result);
            else Print(result, CommonOptions.Terminal(parse));
            return result.Passed ? ExitCodes.Ok : ExitCodes.CheckFailed;
        });
        return command;
    }

    internal sealed record OutputComparison(string Name, string? NameInB, long[] Shape, double MaxAbsError, double MaxRelError, double Scale, bool Passed, string? Problem);

    internal sealed record Result(string ModelA, string ModelB, string Inputs, double Tolerance, bool Passed, IReadOnlyList<OutputComparison> Outputs);

    private static Result Compare(string pathA, string pathB, string? inputsFile, double tolerance, int batch, int seed, IReadOnlyDictionary<string, long[]> shapes, SessionSettings settings)
    {
        using var sessionA = InferenceSession.FromFile(pathA, settings);
        using var sessionB = InferenceSession.FromFile(pathB, settings);
        CheckSameInputs(sessionA, sessionB, pathA, pathB);
        var inputs = inputsFile is null
            ? ProfileCommand.Wrap(() => RandomInputs.Create(sessionA.Inputs, batch, seed, shapes))
            : FromNpz(inputsFile, sessionA);
        if (sessionA.Outputs.Count != sessionB.Outputs.Count)
            throw new UsageException($"'{pathA}' has {sessionA.Outputs.Count} outputs but '{pathB}' has {sessionB.Outputs.Count}; verify compares models with the same outputs");
        var outA = sessionA.Run(inputs);
        var outB = sessionB.Run(inputs);
        var rows = new List<OutputComparison>();
        for (int i = 0; i < sessionA.Outputs.Count; i++)
        {
            var nameA = sessionA.Outputs[i].Name;
            var nameB = sessionB.Outputs[i].Name;
            rows.Add(CompareOne(nameA, nameB == nameA ? null : nameB, outA[nameA], outB[nameB], tolerance));
        }
        return new Result(pathA, pathB, inputsFile ?? $"random (seed {seed}, batch {batch})", tolerance, rows.All(r => r.Passed), rows);
    }

    private static void CheckSameInputs(InferenceSession a, InferenceSession b, string pathA, string pathB)
    {
        var namesA = a.Inputs.Select(i => i.Name).ToList();
        var namesB = b.Inputs.Select(i => i.Name).ToList();
        if (!namesA.SequenceEqual(namesB))
            throw new UsageException($"the models take different inputs: '{pathA}' takes [{string.Join(", ", namesA)}], '{pathB}' takes [{string.Join(", ", namesB)}]");
        for (int i = 0; i < a.Inputs.Count; i++)
        {
            var (x, y) = (a.Inputs[i], b.Inputs[i]);
            if (x.ElementType != y.ElementType || !x.Dims.SequenceEqual(y.Dims))
                throw new UsageException($"input '{x.Name}' differs: {x} in '{pathA}' but {y} in '{pathB}'");
        }
    }

    private static Dictionary<string, TensorData> FromNpz(string file, InferenceSession session)
    {
        IReadOnlyList<KeyValuePair<string, TensorData>> arrays;
        try { arrays = NpyFile.ReadNpz(file); }
        catch (NpyFormatException e) { throw new UsageException($"--inputs: {e.Message}"); }
        var byName = arrays.ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal);
        var result = new Dictionary<string, TensorData>(StringComparer.Ordinal);
        for (int i = 0; i < session.Inputs.Count; i++)
        {
            var input = session.Inputs[i];
            var data = byName.GetValueOrDefault(input.Name) ?? (i < arrays.Count && arrays.All(kv => kv.Key.StartsWith("arr_", StringComparison.Ordinal)) ? arrays[i].Value : null);
            if (data is null)
                throw new UsageException($"--inputs '{file}' has no array for model input '{input.Name}' (it has: {string.Join(", ", byName.Keys)}); name the arrays after the inputs");
            if (data.ElementType != input.ElementType)
                throw new UsageException($"--inputs '{file}': array for '{input.Name}' is {DataTypes.Name(data.ElementType)} but the model wants {DataTypes.Name(input.ElementType)}");
            var want = input.Dims;
            if (want.Count != data.Dims.Count || want.Zip(data.Dims).Any(p => p.First >= 0 && p.First != p.Second))
                throw new UsageException($"--inputs '{file}': array for '{input.Name}' has shape [{string.Join(",", data.Dims)}] but the model wants [{string.Join(",", want.Select(d => d < 0 ? "?" : d.ToString()))}]");
            result[input.Name] = data;
        }
        return result;
    }

    private static OutputComparison CompareOne(string name, string? nameB, TensorData a, TensorData b, double tolerance)
    {
        var shape = a.Dims.ToArray();
        if (a.ElementType != b.ElementType || !a.Dims.SequenceEqual(b.Dims))
            return new OutputComparison(name, nameB, shape, double.PositiveInfinity, double.PositiveInfinity, 0, false,
                $"A gives {a}, B gives {b}");
        var x = TensorConversion.ToDoubles(a);
        var y = TensorConversion.ToDoubles(b);
        double maxAbs = 0, scale = 0;
        bool nanMismatch = false;
        for (int i = 0; i < x.Length; i++)
        {
            if (double.IsNaN(x[i]) || double.IsNaN(y[i])) { nanMismatch |= double.IsNaN(x[i]) != double.IsNaN(y[i]); continue; }
            maxAbs = Math.Max(maxAbs, Math.Abs(x[i] - y[i]));
            scale = Math.Max(scale, Math.Abs(x[i]));
        }
        var rel = maxAbs / Math.Max(scale, double.Epsilon);
        bool passed = !nanMismatch && maxAbs <= tolerance * Math.Max(1, scale);
        return new OutputComparison(name, nameB, shape, maxAbs, maxAbs == 0 ? 0 : rel, scale, passed, nanMismatch ? "NaN in one model where the other has a number" : null);
    }

    private static void Print(Result r, Terminal o)
    {
        o.Line($"A        {r.ModelA}");
        o.Line($"B        {r.ModelB}");
        o.Line($"inputs   {r.Inputs}");
        var table = new Table("output", "shape", "max |A-B|", "max |A-B| / max|A|", "result");
        foreach (var c in r.Outputs)
            table.Add(c.NameInB is null ? c.Name : $"{c.Name} / {c.NameInB}", "[" + string.Join(",", c.Shape) + "]", c.MaxAbsError.ToString("0.###e+0"),
                c.MaxRelError.ToString("0.###e+0"), c.Passed ? "ok" : "DIFFERS" + (c.Problem is null ? "" : $": {c.Problem}"));
        o.Write(table);
        o.Result(r.Passed ? $"same outputs within tolerance {r.Tolerance:0.###e+0}" : $"outputs differ beyond tolerance {r.Tolerance:0.###e+0} (relative to max(1, max|A|))");
    }
}
