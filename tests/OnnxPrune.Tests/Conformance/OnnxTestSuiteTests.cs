using OnnxPrune.IR;
using OnnxPrune.IR.ShapeInference;
using OnnxPrune.Onnx;
using OnnxPrune.Runtime;
using OnnxPrune.Runtime.Data;
using Xunit.Abstractions;

namespace OnnxPrune.Tests.Conformance;

/// <summary>
/// ONNX's own operator test suite (Debian's libonnx-testdata) run through ONNX Runtime: every
/// model that ONNX Runtime itself runs to the expected outputs must still do so after our
/// load -> IR -> save, and our shape inference must agree with the shapes ORT produces.
/// </summary>
[Trait("Category", "Slow")]
public class OnnxTestSuiteTests(ITestOutputHelper output)
{
    private const double Rtol = 1e-3, Atol = 1e-7;

    private sealed record Case(string Model, List<(Dictionary<string, TensorData> Inputs, List<Tensor> Expected)> Sets);

    [Fact]
    public void ModelsOrtRunsStillRunToTheExpectedOutputsAfterOurRoundTrip_AndShapesAgree()
    {
        _ = OnnxPrune.Tests.Runtime.OrtTestLibrary.Runtime;
        int total = 0, ortPasses = 0, oursPass = 0, shapeChecked = 0, shapeAgree = 0, shapeUnknown = 0;
        var failures = new List<string>();
        var shapeMismatches = new List<string>();
        var settings = new SessionSettings { IntraOpThreads = 1 };
        foreach (var path in TestData.OnnxTestModels())
        {
            total++;
            var dir = Path.GetDirectoryName(path)!;
            if (!TryRunOriginal(path, dir, settings, out var session, out var sets)) continue;
            using (session)
            {
                ortPasses++;
                var model = OnnxModelFile.Load(path);
                var bytes = OnnxModelFile.ToBytes(model);
                string? problem = null;
                try
                {
                    using var ours = InferenceSession.FromBytes(bytes, settings);
                    foreach (var (inputs, expected) in sets)
                    {
                        var got = ours.Run(inputs);
                        problem ??= Compare(ours.Outputs.Select(o => o.Name).ToList(), got, expected);
                    }
                }
                catch (Exception e) { problem = $"{e.GetType().Name}: {e.Message}"; }
                if (problem is null) oursPass++; else failures.Add($"{path}: {problem}");

                // Shape inference against the shapes of ORT's actual outputs, with the inputs'
                // concrete shapes bound (test inputs are static).
                var (inputsSet, _) = sets[0];
                foreach (var input in model.Graph.Inputs)
                    if (input.ConstValue is null && inputsSet.TryGetValue(input.Name, out var data)) input.Shape = new Shape(data.Dims.ToArray());
                new ShapeInferencer().Run(model);
                var actual = session.Run(inputsSet);
                foreach (var o in model.Graph.Outputs)
                {
                    if (!actual.TryGetValue(o.Name, out var result)) continue;
                    shapeChecked++;
                    var sizes = o.Shape?.TryGetSizes();
                    if (sizes is null) { shapeUnknown++; continue; }
                    if (sizes.SequenceEqual(result.Dims)) shapeAgree++;
                    else shapeMismatches.Add($"{path}: output '{o.Name}' inferred {o.Shape}, ORT gives [{string.Join(",", result.Dims)}]");
                }
            }
        }
        output.WriteLine($"{total} models; ORT {OrtRuntime.Shared.VersionString} runs {ortPasses} to the expected outputs; after our round trip {oursPass} of those still do");
        output.WriteLine($"shape inference: {shapeChecked} outputs checked, {shapeAgree} agree with ORT, {shapeUnknown} left unknown, {shapeMismatches.Count} disagree");
        foreach (var m in shapeMismatches.Take(30)) output.WriteLine("  " + m);
        total.Should().BeGreaterThan(1000);
        ortPasses.Should().BeGreaterThan(700);
        failures.Should().BeEmpty();
        shapeMismatches.Should().BeEmpty();
    }

    private static bool TryRunOriginal(string path, string dir, SessionSettings settings, out InferenceSession session, out List<(Dictionary<string, TensorData>, List<Tensor>)> sets)
    {
        session = null!;
        sets = new();
        try
        {
            session = InferenceSession.FromFile(path, settings);
            if (session.Inputs.Any(i => i.Kind != OnnxValueKind.Tensor) || session.Outputs.Any(o => o.Kind != OnnxValueKind.Tensor)) { session.Dispose(); return false; }
            foreach (var setDir in Directory.EnumerateDirectories(dir, "test_data_set_*").Order(StringComparer.Ordinal))
            {
                var inputs = new Dictionary<string, TensorData>(StringComparer.Ordinal);
                for (int i = 0; i < session.Inputs.Count; i++)
                {
                    var file = Path.Combine(setDir, $"input_{i}.pb");
                    if (!File.Exists(file)) { session.Dispose(); return false; }
                    inputs[session.Inputs[i].Name] = TensorConversion.ToTensorData(OnnxTensorFile.Load(file));
                }
                var expected = new List<Tensor>();
                for (int i = 0; i < session.Outputs.Count; i++)
                {
                    var file = Path.Combine(setDir, $"output_{i}.pb");
                    if (!File.Exists(file)) { session.Dispose(); return false; }
                    expected.Add(OnnxTensorFile.Load(file));
                }
                sets.Add((inputs, expected));
            }
            if (sets.Count == 0) { session.Dispose(); return false; }
            var names = session.Outputs.Select(o => o.Name).ToList();
            foreach (var (inputs, expected) in sets)
                if (Compare(names, session.Run(inputs), expected) is not null) { session.Dispose(); return false; }
            return true;
        }
        catch (Exception e) when (e is OrtException or NotSupportedException or OnnxFormatException or ArgumentException or InvalidOperationException)
        {
            session?.Dispose();
            return false;
        }
    }

    /// <returns>null when every output matches (rtol 1e-3, atol 1e-7), else what differs.</returns>
    private static string? Compare(IReadOnlyList<string> names, IReadOnlyDictionary<string, TensorData> got, List<Tensor> expected)
    {
        for (int i = 0; i < names.Count; i++)
        {
            var actual = got[names[i]];
            var want = expected[i];
            if (!actual.Dims.SequenceEqual(want.Dims)) return $"output '{names[i]}' has shape [{string.Join(",", actual.Dims)}], expected [{string.Join(",", want.Dims)}]";
            if (actual.ElementType != want.DataType) return $"output '{names[i]}' is {actual.ElementType}, expected {want.DataType}";
            var a = TensorConversion.ToTensorData(want);
            var x = TensorConversion.ToDoubles(actual);
            var y = TensorConversion.ToDoubles(a);
            for (int k = 0; k < x.Length; k++)
            {
                if (double.IsNaN(x[k]) && double.IsNaN(y[k])) continue;
                if (double.IsInfinity(y[k]) && x[k] == y[k]) continue;
                if (!(Math.Abs(x[k] - y[k]) <= Atol + Rtol * Math.Abs(y[k]))) return $"output '{names[i]}' element {k} is {x[k]}, expected {y[k]}";
            }
        }
        return null;
    }
}
