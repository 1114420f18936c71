using System.Diagnostics;
using System.Text;
using OnnxPrune.IR;
using OnnxPrune.Onnx;
using OnnxPrune.Pruning.Channels;
using OnnxPrune.Pruning.Pipeline;
using OnnxPrune.Runtime;
using OnnxPrune.Training;

namespace OnnxPrune.Pruning.Policy.Cie;

/// <summary>
/// CIE's sensitivity grid (METHODS.md §4): every prunable group pruned alone at every ratio of the grid (its
/// lowest-scored channels by the base criterion, no rounding, no recovery, no fine-tune) and evaluated on held-out
/// images: top-1 accuracy when they have labels (C = baseline points lost), else the mean KL divergence from the
/// original's outputs (C = KL). Cells run on <see cref="CieSettings.Workers"/> threads, each with its own session
/// and its share of the intra-op threads, and are cached per cell (<see cref="CieCache"/>).
/// </summary>
internal static class SensitivityGrid
{
    private const string BaselineCell = "baseline";

    /// <summary>The grid of a model file as pruning would compute it (preparation passes, analysis, base criterion), without
    /// allocating: what a `--shard I/N` run does.</summary>
    public static GridOutcome ComputeFor(byte[] modelBytes, string? modelDirectory, DataFreePruneOptions options)
    {
        var model = OnnxModelFile.FromBytes(modelBytes, modelDirectory);
        PreparePasses.Run(model);
        var prepared = model.Clone();
        DataFreePruner.BindInputShapes(model, options.InputShapes);
        var analysis = ChannelAnalysis.Run(model, options.PinnedGroups);
        var scores = Criteria.Criteria.Create(options.Criterion, options.Seed, options.Calibration, options.Session).Score(analysis);
        return Compute(prepared, analysis, scores, options);
    }

    /// <summary>The grid for <paramref name="prepared"/> (after the preparation passes, before input shapes are bound),
    /// whose analysis and scores are <paramref name="analysis"/> and <paramref name="scores"/>.</summary>
    public static GridOutcome Compute(Model prepared, ChannelAnalysis analysis, IReadOnlyDictionary<int, double> scores, DataFreePruneOptions options)
    {
        var settings = options.Cie ?? new CieSettings();
        var data = settings.Evaluation ?? throw new PruneInputException(PruneInputProblem.NeedsData,
            "--allocation cie evaluates every group pruned alone on held-out images: give them with --data");
        var clock = Stopwatch.StartNew();
        var bytes = OnnxModelFile.ToBytes(prepared);
        var signature = ClassifierSignature.Of(prepared);
        signature.CheckData(data.Images);
        bool accuracy = data.HasLabels;
        var cache = new CieCache(settings.CacheDirectory, Key(bytes, data, options, settings));

        // Each cell names the group by key and the channels by their position in the group, which a fresh
        // analysis of the same bytes reproduces (unit ids are not needed across threads).
        var groups = analysis.Groups.Where(g => g.IsPrunable).ToList();
        var ratios = settings.Ratios;
        var cells = new List<(int Index, string Name, string Group, int[] Positions)>();
        for (int gi = 0; gi < groups.Count; gi++)
        {
            var g = groups[gi];
            var position = g.Units.Select((u, i) => (u, i)).ToDictionary(x => x.u, x => x.i);
            var order = g.PrunableUnits.OrderBy(u => scores.GetValueOrDefault(u)).ThenBy(u => u).ToArray();
            for (int j = 0; j < ratios.Count; j++)
            {
                int n = Math.Min(order.Length, Math.Min(g.ChannelCount - 1, (int)Math.Floor(ratios[j] * g.ChannelCount + 1e-9)));
                cells.Add((gi * ratios.Count + j, $"g{gi}-r{j}", g.Key, order.Take(n).Select(u => position[u]).ToArray()));
            }
        }

        var perWorker = new SessionSettings { Provider = options.Session.Provider, IntraOpThreads = Math.Max(1, settings.Threads / Math.Max(1, settings.Workers)) };
        var values = new double?[cells.Count];
        int cached = 0;
        for (int k = 0; k < cells.Count; k++)
        {
            if (cells[k].Positions.Length == 0) values[k] = accuracy ? double.NaN : 0; // nothing removed: no loss
            else if (cache.Read(cells[k].Name) is { } v) { values[k] = v; cached++; }
        }
        var baseline = accuracy ? cache.Read(BaselineCell) : 0;
        var missing = Enumerable.Range(0, cells.Count).Where(k => values[k] is null && (settings.Shard?.Owns(cells[k].Index) ?? true)).ToList();

        float[]? reference = null;
        if (missing.Count > 0 || baseline is null)
        {
            var outputs = Outputs(OnnxModelFile.FromBytes(bytes), signature, data, perWorker with { IntraOpThreads = Math.Max(1, settings.Threads) }, settings.Cancel);
            reference = outputs;
            if (accuracy && baseline is null) { baseline = Accuracy(outputs, data); cache.Write(BaselineCell, baseline.Value); }
        }

        int done = 0;
        var started = clock.Elapsed;
        try
        {
            Parallel.ForEach(missing, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, settings.Workers), CancellationToken = settings.Cancel }, k =>
            {
                var cell = cells[k];
                var model = PruneOne(bytes, options, cell.Group, cell.Positions);
                var outputs = Outputs(model, signature, data, perWorker, settings.Cancel);
                double v = accuracy ? Accuracy(outputs, data) : MeanKl(reference!, outputs, data.Images.Count, signature.OutputIsProbabilities);
                cache.Write(cell.Name, v);
                values[k] = v;
                int finished = Interlocked.Increment(ref done);
                var spent = clock.Elapsed - started;
                var eta = TimeSpan.FromSeconds(spent.TotalSeconds / finished * (missing.Count - finished));
                options.Progress?.Invoke($"CIE grid: {finished}/{missing.Count} cells ({cached} cached), ETA {eta:mm\\:ss}");
            });
        }
        catch (OperationCanceledException) { }

        if (settings.Shard is not null || values.Any(v => v is null))
            return new GridOutcome(null, done, cached, cells.Count, accuracy ? "accuracy" : "kl", baseline ?? 0, clock.Elapsed);
        var rows = new Dictionary<string, double[]>(StringComparer.Ordinal);
        for (int k = 0; k < cells.Count; k++)
        {
            var (gi, j) = (k / ratios.Count, k % ratios.Count);
            var row = rows.TryGetValue(cells[k].Group, out var r) ? r : rows[cells[k].Group] = new double[ratios.Count];
            row[j] = accuracy ? (double.IsNaN(values[k]!.Value) ? 0 : baseline!.Value - values[k]!.Value) : values[k]!.Value;
        }
        return new GridOutcome(new ContributionMatrix(ratios, rows), done, cached, cells.Count, accuracy ? "accuracy" : "kl", baseline ?? 0, clock.Elapsed);
    }

    /// <summary>A fresh copy of the prepared model with only the given channels of one group removed.</summary>
    private static Model PruneOne(byte[] bytes, DataFreePruneOptions options, string groupKey, int[] positions)
    {
        var model = OnnxModelFile.FromBytes(bytes);
        var recorded = DataFreePruner.BindInputShapes(model, options.InputShapes);
        var analysis = ChannelAnalysis.Run(model, options.PinnedGroups);
        var group = analysis.Groups.First(g => g.Key == groupKey);
        var units = positions.Select(i => group.Units[i]).ToList();
        var rewrite = new RewriteContext(model, analysis.Context.Units, units);
        analysis.Remove(units);
        DataFreePruner.RestoreRecordedShapes(analysis, recorded, rewrite);
        return model;
    }

    /// <summary>The model's outputs on every held-out image, [images x classes], in one session.</summary>
    internal static float[] Outputs(Model model, ClassifierSignature signature, Criteria.CalibrationSet data, SessionSettings session, CancellationToken cancel)
    {
        using var s = InferenceSession.FromModel(model, session);
        var all = new List<float>();
        foreach (var (_, _, batch) in data.Batches(signature, (int)(signature.FixedBatch ?? 64)))
        {
            var outputs = s.Run(new Dictionary<string, TensorData> { [signature.InputName] = batch }, [signature.OutputName], cancel);
            all.AddRange(outputs[signature.OutputName].As<float>());
        }
        return all.ToArray();
    }

    /// <summary>Top-1 accuracy in percent.</summary>
    private static double Accuracy(float[] outputs, Criteria.CalibrationSet data)
    {
        int n = data.Images.Count, classes = outputs.Length / n, correct = 0;
        for (int i = 0; i < n; i++)
        {
            int best = 0;
            for (int c = 1; c < classes; c++) if (outputs[i * classes + c] > outputs[i * classes + best]) best = c;
            if (best == data.Images.Labels[i]) correct++;
        }
        return 100.0 * correct / n;
    }

    /// <summary>Mean over images of KL(original || pruned) on their class distributions.</summary>
    internal static double MeanKl(float[] reference, float[] outputs, int n, bool probabilities)
    {
        int classes = reference.Length / n;
        double total = 0;
        for (int i = 0; i < n; i++)
        {
            var p = Distribution(reference.AsSpan(i * classes, classes), probabilities);
            var q = Distribution(outputs.AsSpan(i * classes, classes), probabilities);
            for (int c = 0; c < classes; c++) if (p[c] > 0) total += p[c] * (Math.Log(p[c]) - Math.Log(Math.Max(q[c], 1e-12)));
        }
        return total / n;
    }

    private static double[] Distribution(ReadOnlySpan<float> row, bool probabilities)
    {
        var d = new double[row.Length];
        if (probabilities) { for (int c = 0; c < row.Length; c++) d[c] = row[c]; return d; }
        double max = double.NegativeInfinity, sum = 0;
        foreach (var x in row) max = Math.Max(max, x);
        for (int c = 0; c < row.Length; c++) sum += d[c] = Math.Exp(row[c] - max);
        for (int c = 0; c < row.Length; c++) d[c] /= sum;
        return d;
    }

    /// <summary>The cache key: the prepared model's bytes, the held-out images and labels, and every setting a cell depends on.</summary>
    private static string Key(byte[] model, Criteria.CalibrationSet data, DataFreePruneOptions options, CieSettings settings)
    {
        var images = new byte[data.Images.Images.Length * sizeof(float)];
        Buffer.BlockCopy(data.Images.Images, 0, images, 0, images.Length);
        var labels = new byte[data.Images.Labels.Length * sizeof(long)];
        Buffer.BlockCopy(data.Images.Labels, 0, labels, 0, labels.Length);
        var grid = string.Join(",", settings.Ratios.Select(r => r.ToString("R", System.Globalization.CultureInfo.InvariantCulture)));
        var text = $"v1|{options.Criterion}|{options.Seed}|{data.HasLabels}|{grid}|" +
                   string.Join(";", options.PinnedGroups.Keys.OrderBy(k => k, StringComparer.Ordinal)) + "|" +
                   string.Join(";", options.InputShapes.OrderBy(k => k.Key, StringComparer.Ordinal).Select(k => $"{k.Key}={string.Join("x", k.Value)}"));
        return CieCache.Hash(model, images, labels, Encoding.UTF8.GetBytes(text));
    }
}
