using System.CommandLine;
using OnnxPrune.Cli.Output;
using OnnxPrune.Pruning.Pipeline;
using OnnxPrune.Runtime;
using OnnxPrune.Runtime.Data;

namespace OnnxPrune.Cli.Commands;

/// <summary>
/// `onnxprune profile MODEL`: latency measured by ONNX Runtime (wall clock around Run, after
/// warm-up), and time per op type from ORT's own profiler, collected in a separate session so that
/// profiling overhead does not touch the latency figures.
/// </summary>
internal static class ProfileCommand
{
    public static Command Create()
    {
        var model = CommonOptions.Model();
        var threads = DeviceOptions.Threads();
        var batch = new Option<int>("--batch") { Description = "Batch size for a dynamic batch axis", DefaultValueFactory = _ => 1 }.AtLeast(1);
        var warmup = new Option<int>("--warmup") { Description = "Untimed runs first", DefaultValueFactory = _ => 10 }.AtLeast(0);
        var runs = new Option<int>("--runs") { Description = "Timed runs", DefaultValueFactory = _ => 100 }.AtLeast(1);
        var device = DeviceOptions.Device();
        var seed = new Option<int>("--seed") { Description = "Seed of the random inputs", DefaultValueFactory = _ => 0 };
        var inputShape = InputShapes.Option();
        var json = CommonOptions.Json();
        var command = new Command("profile", "Measure a model's latency with ONNX Runtime and the time per op type")
            { model, threads, batch, warmup, runs, device, seed, inputShape, json };
        command.SetAction(parse =>
        {
            var path = parse.GetValue(model)!;
            int b = parse.GetValue(batch), w = parse.GetValue(warmup), r = parse.GetValue(runs);
            var settings = DeviceOptions.Settings(parse.GetValue(device)!, parse.GetValue(threads));
            var loaded = CommonOptions.Load(path); // our own checks first: clear messages for malformed files
            var shapes = InputShapes.Parse(parse.GetValue(inputShape), loaded);
            var terminal = CommonOptions.Terminal(parse);
            var result = Profile(terminal, path, settings, b, w, r, parse.GetValue(seed), shapes);
            if (parse.GetValue(json)) Json.Write(Console.Out, result);
            else Print(result, terminal);
            return ExitCodes.Ok;
        });
        return command;
    }

    internal sealed record OpTypeRow(string OpType, int Nodes, double MsPerRun, double Percent);

    internal sealed record Result(string Model, string Device, int Threads, int Batch, int Warmup, int Runs,
        double MeanMs, double P50Ms, double P90Ms, double MinMs, double MaxMs, int ProfiledRuns, IReadOnlyList<OpTypeRow> OpTypes);

    private static Result Profile(Terminal terminal, string path, SessionSettings settings, int batch, int warmup, int runs, int seed, IReadOnlyDictionary<string, long[]> shapes)
    {
        double[] times;
        Dictionary<string, TensorData> inputs;
        using (var session = InferenceSession.FromFile(path, settings))
        {
            inputs = Wrap(() => RandomInputs.Create(session.Inputs, batch, seed, shapes));
            times = TimeRuns(terminal, session, inputs, warmup, runs);
        }
        var sorted = times.Order().ToArray();

        // ORT's profiler in its own session, so its overhead stays out of the latency figures.
        // A few runs are enough for the share of each op type.
        int profiled = Math.Min(runs, 20);
        var summary = ProfiledRuns.Run(s => InferenceSession.FromFile(path, s), settings, _ => inputs, profiled);
        double total = summary.OpTypes.Sum(o => (double)o.TotalMicroseconds);
        var rows = summary.OpTypes.OrderByDescending(o => o.TotalMicroseconds)
            .Select(o => new OpTypeRow(o.OpType, o.NodeCount, o.TotalMicroseconds / 1000.0 / ProfiledRuns.RunsIn(summary, profiled), total > 0 ? 100.0 * o.TotalMicroseconds / total : 0))
            .ToList();
        return new Result(path, settings.Provider.ToString().ToLowerInvariant(), settings.EffectiveIntraOpThreads, batch, warmup, runs,
            times.Average(), LatencyComparison.Percentile(sorted, 0.5), LatencyComparison.Percentile(sorted, 0.9), sorted[0], sorted[^1], profiled, rows);
    }

    private static double[] TimeRuns(Terminal terminal, InferenceSession session, Dictionary<string, TensorData> inputs, int warmup, int runs)
    {
        var times = new List<double>(runs);
        using var progress = new Progress(terminal, "timing", runs);
        const int chunk = 10;
        var first = LatencyBenchmark.Measure(session, inputs, warmup, Math.Min(chunk, runs));
        times.AddRange(first);
        progress.Report(times.Count);
        while (times.Count < runs)
        {
            times.AddRange(LatencyBenchmark.Measure(session, inputs, 0, Math.Min(chunk, runs - times.Count)));
            progress.Report(times.Count);
        }
        return times.ToArray();
    }

    internal static T Wrap<T>(Func<T> make)
    {
        try { return make(); }
        catch (InvalidInputException e) { throw LibraryErrors.Word(e); }
    }

    private static void Print(Result r, Terminal o)
    {
        o.Line($"model    {r.Model}");
        o.Line($"device   {r.Device}, {(r.Threads == 0 ? "ORT default" : r.Threads.ToString())} thread(s), batch {r.Batch}, {r.Warmup} warm-up + {r.Runs} timed runs");
        o.Result($"latency  mean {r.MeanMs:0.000} ms  p50 {r.P50Ms:0.000} ms  p90 {r.P90Ms:0.000} ms  min {r.MinMs:0.000} ms  max {r.MaxMs:0.000} ms");
        o.Line();
        o.Line($"time per op type (ONNX Runtime profiler, {r.ProfiledRuns} runs; after ORT's graph optimizations, so fused ops appear under their fused names)");
        var table = new Table("op type", "nodes", "ms/run", "share");
        foreach (var row in r.OpTypes) table.Add(row.OpType, row.Nodes, row.MsPerRun.ToString("0.000"), $"{row.Percent:0.0}%");
        o.Write(table);
    }
}
