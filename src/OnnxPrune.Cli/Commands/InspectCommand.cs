using System.CommandLine;
using OnnxPrune.Cli.Output;
using OnnxPrune.IR;
using OnnxPrune.Pruning.Cost;
using OnnxPrune.Training.Data;

namespace OnnxPrune.Cli.Commands;

/// <summary>`onnxprune inspect MODEL`: inputs, outputs, the default preprocessing of images for its image input,
/// op histogram, parameters and MACs per node.</summary>
internal static class InspectCommand
{
    public static Command Create()
    {
        var model = CommonOptions.Model();
        var json = CommonOptions.Json();
        var batch = new Option<int>("--batch") { Description = "Batch size for MAC counts when the model's batch dim is symbolic", DefaultValueFactory = _ => 1 }.AtLeast(1);
        var inputShape = InputShapes.Option();
        var groups = new Option<bool>("--groups") { Description = "List the channel groups (members, channels, MACs and params each controls) and the barriers" };
        var command = new Command("inspect", "Show a model's inputs, outputs, op histogram, parameter count and MACs per node") { model, json, batch, inputShape, groups };
        command.SetAction(parse =>
        {
            var path = parse.GetValue(model)!;
            var b = parse.GetValue(batch);
            var m = CommonOptions.Load(path);
            if (parse.GetValue(groups))
            {
                var listing = GroupListing.Build(m, InputShapes.Parse(parse.GetValue(inputShape), m));
                if (parse.GetValue(json)) Json.Write(Console.Out, listing);
                else GroupListing.Print(listing, CommonOptions.Terminal(parse));
                return ExitCodes.Ok;
            }
            var declared = (m.Graph.Inputs.Where(i => i.ConstValue is null).Select(CommonOptions.ValueJson).ToArray(), m.Graph.Outputs.Select(CommonOptions.ValueJson).ToArray());
            var shapes = InputShapes.BindAndInfer(m, b, InputShapes.Parse(parse.GetValue(inputShape), m));
            var cost = CostModel.Measure(m.Graph);
            var report = Build(path, m, declared, cost, b, shapes.SkippedNodes.Select(n => n.OpType).Distinct().Order(StringComparer.Ordinal).ToList());
            if (parse.GetValue(json)) Json.Write(Console.Out, report);
            else Print(report, CommonOptions.Terminal(parse));
            return ExitCodes.Ok;
        });
        return command;
    }

    private sealed record NodeRow(string Name, string OpType, object?[]? OutputShape, long? Macs, long Params);

    private sealed record Report(
        string Model, string Producer, string ProducerVersion, long IrVersion, long Opset,
        Dictionary<string, long> OpsetImports, CommonOptions.ValueSummary[] Inputs, CommonOptions.ValueSummary[] Outputs,
        long Params, long Macs, int Batch, string MacsNote, IReadOnlyList<string> OpsCountedAsZero,
        int UnknownMacNodes, IReadOnlyList<string> OpsWithoutShapeRule, string? Preprocess, string? PreprocessNote,
        int NodeCount, SortedDictionary<string, int> OpHistogram, IReadOnlyList<NodeRow> Nodes);

    private static Report Build(string path, Model m, (CommonOptions.ValueSummary[] Inputs, CommonOptions.ValueSummary[] Outputs) declared, ModelCost cost, int batch, IReadOnlyList<string> skipped)
    {
        var histogram = new SortedDictionary<string, int>(StringComparer.Ordinal);
        foreach (var n in m.Graph.Nodes)
        {
            var key = n.IsOnnxDomain ? n.OpType : $"{n.Domain}.{n.OpType}";
            histogram[key] = histogram.GetValueOrDefault(key) + 1;
        }
        var nodes = cost.Nodes.Select(c => new NodeRow(c.Node.Name, c.Node.OpType,
            c.Node.Outputs[0].Shape?.Dims.Select(d => d.Value.HasValue ? (object?)d.Value.Value : d.Symbol ?? "?").ToArray(),
            c.Macs, c.Params)).ToList();
        var preprocess = ImagePreprocessing.ForModel(m, out var why);
        return new Report(path, m.ProducerName, m.ProducerVersion, m.IrVersion, m.DefaultOpset,
            new Dictionary<string, long>(m.OpsetImports), declared.Inputs, declared.Outputs, cost.Params, cost.Macs, batch,
            "MACs are counted for Conv, ConvTranspose, Gemm and MatMul; every other op counts 0",
            cost.UncountedOpTypes, cost.UnknownMacNodes, skipped, preprocess?.ToString(), preprocess is null ? why : null, m.Graph.Nodes.Count, histogram, nodes);
    }

    private static void Print(Report r, Terminal o)
    {
        if (o.Quiet)
        {
            o.Result($"{r.Model}: {r.NodeCount} nodes, {r.Params:N0} params, {r.Macs:N0} MACs at batch {r.Batch}");
            return;
        }
        o.Line($"model     {r.Model}");
        o.Line($"producer  {(r.Producer.Length > 0 ? r.Producer + " " + r.ProducerVersion : "(none recorded)")}; IR version {r.IrVersion}; opsets {string.Join(", ", r.OpsetImports.Select(kv => $"{(kv.Key.Length == 0 ? "ai.onnx" : kv.Key)} {kv.Value}"))}");
        foreach (var i in r.Inputs) o.Line($"input     {CommonOptions.Describe(i)}");
        foreach (var v in r.Outputs) o.Line($"output    {CommonOptions.Describe(v)}");
        o.Line($"preprocess {(r.Preprocess is { } p ? p + " (default for image folders; --preprocess changes it)" : $"(no default for image folders: {r.PreprocessNote})")}");
        o.Line($"params    {r.Params:N0} ({Numbers.Short(r.Params)})");
        o.Line($"MACs      {r.Macs:N0} ({Numbers.Short(r.Macs)}) at batch {r.Batch}{(r.UnknownMacNodes > 0 ? $"; {r.UnknownMacNodes} node(s) with unknown shapes not counted" : "")}");
        o.Line($"          {r.MacsNote}{(r.OpsCountedAsZero.Count > 0 ? $" (here: {string.Join(", ", r.OpsCountedAsZero)})" : "")}");
        if (r.OpsWithoutShapeRule.Count > 0) o.Line($"          ops without a shape rule (shapes as recorded): {string.Join(", ", r.OpsWithoutShapeRule)}");
        o.Line();
        var hist = new Table("op", "count");
        foreach (var (op, count) in r.OpHistogram.OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key, StringComparer.Ordinal)) hist.Add(op, count);
        o.Write(hist);
        o.Line();
        var table = new Table("node", "op", "output shape", "MACs", "params");
        foreach (var n in r.Nodes.Where(n => n.Macs is null or > 0 || n.Params > 0))
            table.Add(n.Name, n.OpType, n.OutputShape is null ? "?" : "[" + string.Join(",", n.OutputShape) + "]", n.Macs?.ToString("N0") ?? "?", n.Params.ToString("N0"));
        o.Write(table);
    }
}
