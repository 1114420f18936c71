using OnnxPrune.IR;
using OnnxPrune.Pruning.Criteria;
using OnnxPrune.Runtime;
using OnnxPrune.Training;

namespace OnnxPrune.Pruning.Recovery;

/// <summary>How one layer's refit went: the relative squared error to the original's output on the
/// sampled rows, with the pruned weights and with the refit ones (null when it was not refit).</summary>
public sealed record LayerRefitOutcome(string Layer, string OpType, long Rows, double? ErrorBefore, double? ErrorAfter, string? Skipped);

/// <summary>
/// The least-squares refit of METHODS.md §6. Every layer that reads removed channels gets weights
/// (and bias, where it has one) solving min ||X_k W − Y||² + λ||W||², with X_k its input in the
/// pruned model (the kept channels, as patches for a Conv; per group for a grouped Conv) and Y its
/// output in the original model, over sampled output positions of the calibration images. Layers
/// are refit in graph order: a layer's input is computed by the pruned model with every earlier
/// layer already refit. Layers whose inputs do not depend on each other share one pass of ONNX
/// Runtime, and each pass starts from the cached activations where the last one's settled part
/// ended (<see cref="ActivationFrontier"/>).
/// </summary>
internal sealed class LeastSquaresRefit(CalibrationSet data, SessionSettings session, RefitSettings settings)
{
    private sealed record Work(RefitLayer Layer, LayerGeometry Geometry, int Index);

    public IReadOnlyList<LayerRefitOutcome> Run(Model original, Model pruned, IReadOnlyList<RefitLayer> layers, Action<string>? progress)
    {
        var outcomes = new Dictionary<string, LayerRefitOutcome>(StringComparer.Ordinal);
        var nodes = pruned.Graph.Nodes.Where(n => n.Outputs.Count > 0).ToDictionary(n => n.Outputs[0].Name, StringComparer.Ordinal);
        var work = new List<Work>();
        for (int i = 0; i < layers.Count; i++)
        {
            var layer = layers[i];
            var (geometry, why) = nodes.TryGetValue(layer.OutputName, out var node) ? LayerGeometry.Of(node) : (null, "not found after pruning");
            if (geometry is { Columns: var columns } && columns > settings.MaxColumns)
            {
                why = $"{columns} inputs per output: more than {settings.MaxColumns}, whose dense solve would take too long";
                geometry = null;
            }
            if (geometry is null) outcomes[layer.OutputName] = new LayerRefitOutcome(layer.OutputName, layer.OpType, 0, null, null, why);
            else work.Add(new Work(layer, geometry, i));
        }
        if (work.Count > 0)
        {
            var signature = ClassifierSignature.Of(pruned);
            signature.CheckData(data.Images);
            int batchSize = (int)(signature.FixedBatch ?? settings.BatchSize);
            progress?.Invoke($"refit: the original's outputs of {work.Count} layers");
            var targets = CollectTargets(original, work, signature, batchSize);
            var frontier = new ActivationFrontier(signature.InputName, settings.CacheBytes);
            var pending = work.ToList();
            while (pending.Count > 0)
            {
                var wave = NextWave(pending);
                var equations = Accumulate(pruned, wave, pending, targets, frontier, signature, batchSize);
                foreach (var item in wave) outcomes[item.Layer.OutputName] = Solve(item, equations[item.Layer.OutputName], pruned.Graph);
                pending.RemoveAll(wave.Contains);
                progress?.Invoke($"refit {work.Count - pending.Count}/{work.Count} layers");
            }
            new IR.Passes.EliminateDeadCode().Run(pruned);
        }
        return layers.Select(l => outcomes[l.OutputName]).ToList();
    }

    private LayerRefitOutcome Solve(Work item, NormalEquations[] equations, Graph graph)
    {
        var g = item.Geometry;
        var solutions = new List<double[,]>();
        double before = 0, after = 0;
        for (int group = 0; group < g.Groups; group++)
        {
            var solution = equations[group].Solve(settings.Ridge);
            if (solution is null)
                return new LayerRefitOutcome(item.Layer.OutputName, item.Layer.OpType, equations[0].Rows, null, null, "its input is zero on the calibration images");
            before += equations[group].RelativeError(g.CurrentSolution(group)) / g.Groups;
            after += equations[group].RelativeError(solution) / g.Groups;
            solutions.Add(solution);
        }
        // With a ridge the fit could in principle miss the pruned weights' own error; never make a layer worse.
        if (after > before)
            return new LayerRefitOutcome(item.Layer.OutputName, item.Layer.OpType, equations[0].Rows, before, before, "the fit was no closer to the original than the pruned weights");
        g.Write(graph, solutions);
        return new LayerRefitOutcome(item.Layer.OutputName, item.Layer.OpType, equations[0].Rows, before, after, null);
    }

    /// <summary>The pending layers whose inputs no other pending layer's output reaches: refitting one
    /// cannot change another's input, so they share a pass.</summary>
    private static List<Work> NextWave(List<Work> pending)
    {
        var reached = pending.ToDictionary(p => p, p => Downstream(p.Geometry.Node));
        var wave = pending.Where(p => pending.All(q => q == p || !reached[q].Contains(p.Layer.InputName))).ToList();
        return wave.Count > 0 ? wave : [pending[0]];
    }

    private static HashSet<string> Downstream(Node node)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var stack = new Stack<Value>(node.Outputs);
        while (stack.Count > 0)
        {
            var v = stack.Pop();
            if (!seen.Add(v.Name)) continue;
            foreach (var use in v.Uses)
                foreach (var o in use.Node.Outputs) stack.Push(o);
        }
        return seen;
    }

    /// <summary>Which output positions of which sample a layer's refit uses: a fixed function of the
    /// seed, the layer and the sample, so the original's pass and the pruned model's agree.</summary>
    private long[] Positions(int layerIndex, int sample, long positionsPerSample, int perSample)
    {
        var result = new long[Math.Min(perSample, positionsPerSample)];
        if (result.Length == positionsPerSample) { for (int i = 0; i < result.Length; i++) result[i] = i; return result; }
        ulong state = (ulong)settings.Seed * 0x9E3779B97F4A7C15UL ^ (ulong)layerIndex * 0xBF58476D1CE4E5B9UL ^ (ulong)sample * 0x94D049BB133111EBUL;
        for (int i = 0; i < result.Length; i++) result[i] = (long)(SplitMix(ref state) % (ulong)positionsPerSample);
        return result;
    }

    private static ulong SplitMix(ref ulong state)
    {
        ulong z = state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    private int PerSample(LayerGeometry g, long positionsPerSample)
    {
        long rows = Math.Clamp(settings.RowsPerColumn * (long)g.Columns, settings.MinRows, settings.MaxRows);
        // Accumulating XᵀX costs rows · columns²: keep a wide layer within the budget, but never under 2 rows per unknown.
        rows = Math.Min(rows, Math.Max(2L * g.Columns, (long)(settings.GramBudget / ((double)g.Columns * g.Columns))));
        return (int)Math.Clamp((rows + data.Images.Count - 1) / data.Images.Count, 1, positionsPerSample);
    }

    private IEnumerable<(int Sample, long Position)> Sampled(Work w, int start, int count, long positions)
    {
        int perSample = PerSample(w.Geometry, positions);
        for (int s = 0; s < count; s++)
            foreach (var p in Positions(w.Index, start + s, positions, perSample)) yield return (s, p);
    }

    /// <summary>The original model's output of every layer at the sampled positions, kept channels
    /// only: per layer, per batch, a column-major block (kept outputs × rows), from one pass.</summary>
    private Dictionary<Work, List<float[]>> CollectTargets(Model original, List<Work> work, ClassifierSignature signature, int batchSize)
    {
        var names = work.Select(w => w.Layer.OutputName).Distinct().ToList();
        using var inference = InferenceSession.FromModel(ModelTaps.Truncated(original, names), session);
        var blocks = work.ToDictionary(w => w, _ => new List<float[]>());
        foreach (var (start, n, batch) in data.Batches(signature, batchSize))
        {
            var outputs = inference.Run(new Dictionary<string, TensorData> { [signature.InputName] = batch }, names);
            foreach (var w in work)
            {
                var y = outputs[w.Layer.OutputName];
                var values = y.As<float>();
                bool conv = w.Geometry.IsConv;
                long positions = LayerGeometry.PositionsPerSample(y.Dims, conv);
                int channels = (int)y.Dims[conv ? 1 : y.Dims.Count - 1];
                var kept = Enumerable.Range(0, channels).Where(c => w.Layer.KeptOutputs.Length == 0 || w.Layer.KeptOutputs[c]).ToArray();
                var sampled = Sampled(w, start, n, positions).ToList();
                var block = new float[kept.Length * sampled.Count];
                for (int r = 0; r < sampled.Count; r++)
                {
                    var (s, p) = sampled[r];
                    for (int j = 0; j < kept.Length; j++)
                        block[j * sampled.Count + r] = conv ? values[((long)s * channels + kept[j]) * positions + p] : values[((long)s * positions + p) * channels + kept[j]];
                }
                blocks[w].Add(block);
            }
        }
        return blocks;
    }

    /// <summary>The normal equations of every layer of the wave, per group, from one pass of the pruned model.</summary>
    private Dictionary<string, NormalEquations[]> Accumulate(Model pruned, List<Work> wave, List<Work> pending, Dictionary<Work, List<float[]>> targets,
        ActivationFrontier frontier, ClassifierSignature signature, int batchSize)
    {
        var keep = frontier.Plan(pruned, pending.Select(p => p.Geometry.Node), data.Images.Count);
        var taps = wave.Select(w => w.Layer.InputName).Concat(wave.Select(w => w.Layer.OutputName)).Distinct(StringComparer.Ordinal).ToList();
        var names = taps.Concat(keep).Distinct(StringComparer.Ordinal).ToList();
        using var inference = InferenceSession.FromModel(frontier.Cut(ModelTaps.Truncated(pruned, names)), session);
        var equations = wave.ToDictionary(w => w.Layer.OutputName,
            w => Enumerable.Range(0, w.Geometry.Groups).Select(_ => new NormalEquations(w.Geometry.Columns, w.Geometry.OutputsPerGroup, w.Geometry.WeightColumns)).ToArray(),
            StringComparer.Ordinal);
        int batchIndex = 0;
        foreach (var (start, n, batch) in data.Batches(signature, batchSize))
        {
            var outputs = inference.Run(frontier.Inputs(inference.Inputs, start, n, batch), names);
            frontier.Store(outputs, start, n);
            foreach (var w in wave)
            {
                var g = w.Geometry;
                var x = outputs[w.Layer.InputName];
                var xValues = x.As<float>();
                var outDims = outputs[w.Layer.OutputName].Dims;
                var sampled = Sampled(w, start, n, LayerGeometry.PositionsPerSample(outDims, g.IsConv)).ToList();
                int rows = sampled.Count;
                var target = targets[w][batchIndex];
                var a = new float[g.Columns * rows];
                var y = new float[g.OutputsPerGroup * rows];
                for (int group = 0; group < g.Groups; group++)
                {
                    for (int r = 0; r < rows; r++) g.FillRow(xValues, x.Dims, outDims, sampled[r].Sample, sampled[r].Position, group, a, r, rows);
                    Array.Copy(target, group * g.OutputsPerGroup * rows, y, 0, y.Length);
                    equations[w.Layer.OutputName][group].Add(a, y, rows);
                }
            }
            batchIndex++;
        }
        frontier.Advance();
        return equations;
    }
}

/// <summary>Settings of the least-squares refit.</summary>
/// <param name="Ridge">λ as a fraction of the mean diagonal of XᵀX.</param>
/// <param name="RowsPerColumn">Sampled rows per unknown of a layer, within [MinRows, MaxRows].</param>
/// <param name="CacheBytes">Most memory the cached activations between passes may take.</param>
/// <param name="MaxColumns">Wider layers (in-group channels × kernel) are not refit: the Cholesky solve grows with its cube.</param>
/// <param name="GramBudget">Multiply-adds one layer's XᵀX may take (rows are sampled fewer for wide layers).</param>
/// <param name="Downstream">Also refit every later layer whose input the removal changes, not only those that read removed channels.</param>
internal sealed record RefitSettings(double Ridge = 1e-3, int RowsPerColumn = 32, long MinRows = 8192, long MaxRows = 65536, int BatchSize = 64, int Seed = 0,
    long CacheBytes = 1L << 30, bool Downstream = true, int MaxColumns = 2048, double GramBudget = 2e10);
