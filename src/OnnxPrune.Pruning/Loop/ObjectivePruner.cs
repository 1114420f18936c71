using System.Globalization;
using OnnxPrune.Onnx;
using OnnxPrune.Pruning.Cost;
using OnnxPrune.Pruning.Pipeline;

namespace OnnxPrune.Pruning.Loop;

/// <summary>
/// The main job: prune to every objective the user gave (measured latency, MACs, parameters, file size,
/// accuracy budget) in rounds of prune → recover → fine-tune → evaluate, confirming latency by measuring
/// the whole model in ONNX Runtime after every pruning, then a final fine-tune.
/// <list type="bullet">
/// <item>Fixed objectives (latency, MACs, params, size): round r of R aims at the original's figure times
/// (target / original)^(r/R). When the measured latency misses the round's goal, the round is pruned again
/// from its input with the latency model corrected by every measurement of the round so far
/// (<see cref="Latency.AnchoredLatencyPredictor"/>): the model is a prediction, only the measurement decides.</item>
/// <item>Only an accuracy budget: <see cref="AdaptiveSchedule"/> over the fraction of MACs removed.</item>
/// </list>
/// </summary>
internal static class ObjectivePruner
{
    public static ObjectiveResult Run(byte[] original, string? modelDirectory, string label, ObjectiveOptions options, IRoundTrainer? trainer,
        CancellationToken cancel = default)
    {
        if (options.MaxAccuracyDrop is not null && trainer is null)
            throw new PruneInputException(PruneInputProblem.NeedsData, "an accuracy budget needs data to measure accuracy on");
        var run = new LoopRun(original, modelDirectory, label, options, trainer, cancel);
        return run.Execute();
    }

    /// <summary>Parses "5ms", "5 ms", "0.5s" or "50%" / "0.5" (fractions of the original). Returns (ms, null) or (null, fraction).</summary>
    public static (double? Ms, double? Fraction) ParseLatency(string text)
    {
        var t = text.Trim().ToLowerInvariant().Replace(" ", "");
        double scale = 0;
        if (t.EndsWith("ms")) { scale = 1; t = t[..^2]; }
        else if (t.EndsWith("us") || t.EndsWith("µs")) { scale = 1e-3; t = t[..^2]; }
        else if (t.EndsWith('s')) { scale = 1e3; t = t[..^1]; }
        bool percent = scale == 0 && t.EndsWith('%');
        if (percent) t = t[..^1];
        if (!double.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) || !(value > 0) || double.IsInfinity(value))
            throw Bad(text);
        if (scale > 0) return (value * scale, null);
        var fraction = percent ? value / 100 : value;
        if (fraction >= 1) throw Bad(text);
        return (null, fraction);
    }

    private static PruneInputException Bad(string text) => new(PruneInputProblem.BadTarget,
        $"the latency target '{text}' is not one: give milliseconds (5ms, 0.8ms) or a share of the original's measured latency below 100% (50%, 0.5)");

    /// <summary>
    /// <paramref name="groups"/> (the last round's outcomes) with each group's channel count in the original as
    /// "before", and the original's groups that no longer exist (removed whole with their residual branch) with 0 after.
    /// A group is the original group it shares a producer with: a residual stream loses the producers of the removed
    /// branches, and with them its name; the name decides only where producers have none.
    /// </summary>
    internal static IReadOnlyList<GroupOutcome> GroupsAgainstOriginal(IReadOnlyList<Channels.ChannelGroup> originalGroups, IReadOnlyList<GroupOutcome> groups)
    {
        var byProducer = new Dictionary<string, Channels.ChannelGroup>(StringComparer.Ordinal);
        foreach (var g in originalGroups)
            foreach (var p in g.Producers.Where(p => p.Name.Length > 0)) byProducer.TryAdd(p.Name, g);
        var byName = originalGroups.GroupBy(g => g.Name).ToDictionary(g => g.Key, g => g.First(), StringComparer.Ordinal);
        Channels.ChannelGroup? OriginalOf(GroupOutcome g) =>
            g.Producers.Select(p => byProducer.GetValueOrDefault(p)).FirstOrDefault(o => o is not null) ?? byName.GetValueOrDefault(g.Name);
        var kept = groups.Select(g => OriginalOf(g) is { } o ? g with { ChannelsBefore = o.ChannelCount } : g).ToList();
        var matched = groups.Select(OriginalOf).Where(o => o is not null).ToHashSet();
        bool named = originalGroups.All(g => g.Producers.All(p => p.Name.Length > 0));
        var gone = named ? originalGroups.Where(g => !matched.Contains(g)).Select(g =>
            new GroupOutcome(g.Id, g.Name, g.Producers.Select(p => p.Name).ToList(), g.ChannelCount, 0, g.PrunableUnits.Count, g.PinReasons)) : [];
        return kept.Concat(gone).ToList();
    }

    /// <summary>One pruning of a round: its model, the pruning's figures, its measured latency as a share of the original's
    /// (null without a latency goal) and the index of its <see cref="RoundRecord"/>.</summary>
    private sealed record PrunedAttempt(byte[] Bytes, DataFreePruneResult Result, double? Fraction, int Record);

    /// <summary>The state of one run; one instance per call.</summary>
    private sealed class LoopRun(byte[] original, string? modelDirectory, string label, ObjectiveOptions options, IRoundTrainer? trainer, CancellationToken cancel)
    {
        private readonly List<RoundRecord> _rounds = [];
        private readonly List<string> _notes = [];
        private readonly RoundCheckpoints? _checkpoints = options.CheckpointDirectory is { } dir ? new RoundCheckpoints(dir, original, options) : null;
        private ModelCost _baseline = null!;
        private double? _goalFraction;
        private double? _goalMs;
        /// <summary>The target as given in ms (null for a share of the original): judged in ms rather than as a ratio.</summary>
        private double? _absoluteMs;
        private double _originalMs;
        private int _epochs;

        private IR.Model Load(byte[] bytes) => OnnxModelFile.FromBytes(bytes, modelDirectory, label);

        private void Say(string message) => options.Progress?.Invoke(message);

        private double MeasureOne(byte[] model) =>
            options.Meter?.Invoke(model) ?? LatencyComparison.MeasureOne(model, options.Timing, options.Batch, options.Prune.InputShapes);

        /// <summary>The original and <paramref name="pruned"/> measured side by side.</summary>
        private LatencyPair MeasurePair(byte[] pruned)
        {
            var pair = options.Meter is { } meter
                ? new LatencyPair(meter(original), meter(pruned), 1, options.Timing.IntraOpThreads, options.Batch)
                : LatencyComparison.Measure(original, pruned, options.Timing, options.Batch, options.Prune.InputShapes, progress: options.Progress);
            NoteDrift(pair.BeforeMs);
            return pair;
        }

        /// <summary>The original's first side-by-side measurement in this job, and whether a drift was reported.</summary>
        private (double? FirstMs, bool Said) _drift;

        /// <summary>Each attempt's ratio is measured side by side, but a shared machine's slow phases do not slow a narrow
        /// model and a wide one alike (ResNet-56 at 2 threads: the same pair 1.80x in a quiet phase, 1.63x in a slow one), so
        /// attempts measured in different phases compare badly: the user hears of it once.</summary>
        private void NoteDrift(double originalMs)
        {
            if (_drift.FirstMs is not { } first) { _drift.FirstMs = originalMs; return; }
            if (_drift.Said || Math.Abs(Math.Log(originalMs / first)) <= Math.Log(1 + DriftTolerance)) return;
            _drift.Said = true;
            _notes.Add($"the machine's speed changed while the job measured: the original ran at {first:0.###} ms in its first measurement and at " +
                       $"{originalMs:0.###} ms later; ratios measured in different phases of a shared machine compare badly, so rerun on a quieter one " +
                       "to trust the choice between attempts");
        }

        /// <summary>How far the original's measured latency may move between measurements before <see cref="NoteDrift"/> speaks.</summary>
        private const double DriftTolerance = 0.15;

        /// <summary>How much slower than the original the final result may measure before the user is told (the measurement's
        /// noise on this kind of machine: a new measurement of the same pair lands about a point either side).</summary>
        private const double SlowerTolerance = 0.03;

        public ObjectiveResult Execute()
        {
            _baseline = SteppedPruner.Baseline(Load(original), options.Prune.InputShapes);
            if (options.Latency is { } latencyText)
            {
                if (options.LatencyModel is null) throw new PruneInputException(PruneInputProblem.BadTarget, "a latency target needs a latency model");
                var (ms, fraction) = ParseLatency(latencyText);
                Say("measuring the original's latency");
                _originalMs = MeasureOne(original);
                _absoluteMs = ms;
                _goalMs = ms ?? fraction!.Value * _originalMs;
                _goalFraction = fraction ?? ms!.Value / _originalMs;
                if (_goalFraction >= 1)
                    _notes.Add($"the original already runs in {_originalMs:0.###} ms, within the {latencyText} target; latency sets no limit");
            }
            double? accuracyBefore = trainer is null ? null : 100 * trainer.Evaluate(Load(original));

            var fixedParts = options.Prune.Target.Parts.ToList();
            bool onlyAccuracy = fixedParts.Count == 0 && options.Latency is null && options.MaxSizeBytes is null;
            if (fixedParts.Count == 0 && options.Latency is null && options.MaxSizeBytes is null && options.MaxAccuracyDrop is null)
                throw new PruneInputException(PruneInputProblem.BadTarget, "no objective was given");

            var resumed = _checkpoints?.Resume(_rounds, _notes, onlyAccuracy ? int.MaxValue : Math.Max(1, options.Rounds) - 1) is { } saved
                ? ((int Round, byte[] Bytes, DataFreePruneResult? Result)?)(saved.Round, saved.Bytes, saved.Round == 0 ? null : Snapshot(saved.Bytes)) : null;
            if (resumed is { } from)
            {
                _epochs = _rounds.Where(r => r.Accepted && r.Round <= from.Round).Sum(r => r.Epochs);
                _notes.Add($"resumed from {options.CheckpointDirectory} after round {from.Round}");
            }
            var best = onlyAccuracy ? AdaptiveRounds(accuracyBefore!.Value, resumed) : FixedRounds(resumed);
            bool cancelled = cancel.IsCancellationRequested;

            var bytes = best.Bytes;
            if (!cancelled && trainer is not null && options.FinalEpochs > 0 && best.Result is not null)
            {
                Say($"final fine-tune: {options.FinalEpochs} epoch(s)");
                bytes = TryFineTune(bytes, options.FinalEpochs, "final") ?? bytes;
                cancelled = cancel.IsCancellationRequested;
            }
            if (best.Result is null && cancelled)
            {
                _notes.Add("stopped by Ctrl-C before any round was kept: the model is written unpruned");
                best = (original, Snapshot(original));
                bytes = original;
            }
            if (best.Result is null)
                throw new PruneInputException(PruneInputProblem.BadTarget, "no round could prune the model: " + string.Join("; ", _rounds.Select(r => r.Note)));
            double? accuracyAfter = trainer is null ? null : 100 * trainer.Evaluate(Load(bytes));
            LatencyPair? latency = null;
            if (options.MeasureLatency || options.Latency is not null)
            {
                Say("measuring the result against the original");
                latency = MeasurePair(bytes);
                // Every round's pruning was timed against the original, so this should not happen; a measurement the machine
                // disturbed can let it through, and the user must hear of it rather than find it.
                if (_goalMs is null && latency.AfterMs > latency.BeforeMs * (1 + SlowerTolerance))
                    _notes.Add($"the result measured slower than the original ({latency.AfterMs:0.###} ms against {latency.BeforeMs:0.###} ms): " +
                               "re-measure it (`onnxprune profile`); if it stays slower, prune again with --round-to 16 or 32");
            }
            var shortfalls = new List<string>();
            if (!best.Result.TargetMet && best.Result.Shortfall is { } s) shortfalls.Add(s);
            if (_goalMs is { } goalMs && latency is not null && !LatencyMet(latency))
                shortfalls.Add($"measured latency {latency.AfterMs:0.###} ms against the original's {latency.BeforeMs:0.###} ms is above the target {options.Latency} ({goalMs:0.###} ms)");
            if (options.MaxSizeBytes is { } maxBytes && bytes.Length > maxBytes)
                shortfalls.Add($"the model takes {bytes.Length:N0} bytes, above --max-size {maxBytes:N0}");
            if (options.MaxAccuracyDrop is { } drop && accuracyBefore - accuracyAfter > drop + 1e-9)
                shortfalls.Add($"test top-1 fell {accuracyBefore - accuracyAfter:0.00} points ({accuracyBefore:0.00}% -> {accuracyAfter:0.00}%), more than --max-accuracy-drop {drop}");
            if (cancelled) shortfalls.Add("stopped by Ctrl-C: the last accepted round's model is written");
            var result = best.Result with { MacsBefore = _baseline.Macs, ParamsBefore = _baseline.Params, Groups = AgainstOriginal(best.Result.Groups) };
            return new ObjectiveResult(bytes, result, latency, accuracyBefore, accuracyAfter, shortfalls.Count == 0,
                shortfalls.Count == 0 ? null : string.Join("; ", shortfalls), _rounds, _notes, _goalMs, _epochs, cancelled);
        }

        /// <summary>Fine-tunes <paramref name="bytes"/>; null when Ctrl-C stopped it (the caller keeps the last accepted round).</summary>
        private byte[]? TryFineTune(byte[] bytes, int epochs, string label)
        {
            try
            {
                var tuned = OnnxModelFile.ToBytes(trainer!.FineTune(Load(bytes), epochs, label, cancel));
                _epochs += epochs;
                return tuned;
            }
            catch (OperationCanceledException) when (cancel.IsCancellationRequested) { return null; }
        }

        /// <summary>Group outcomes with the original's channel counts as "before" (a later round's input had fewer), and the
        /// groups an earlier round removed whole with their residual branch (the last round's analysis no longer has them)
        /// with 0 channels after.</summary>
        private IReadOnlyList<GroupOutcome> AgainstOriginal(IReadOnlyList<GroupOutcome> groups)
        {
            var model = Load(original);
            PreparePasses.Run(model);
            DataFreePruner.BindInputShapes(model, options.Prune.InputShapes);
            return GroupsAgainstOriginal(Channels.ChannelAnalysis.Run(model).Groups, groups);
        }

        /// <summary>Measured latency meets the goal: as a share of the original measured beside it for a percentage, in ms for an absolute target.</summary>
        private bool LatencyMet(LatencyPair pair) =>
            options.Latency is null || (_absoluteMs is { } ms ? pair.AfterMs <= ms : pair.AfterMs / pair.BeforeMs <= _goalFraction!.Value + 1e-9);

        private (byte[] Bytes, DataFreePruneResult? Result) FixedRounds((int Round, byte[] Bytes, DataFreePruneResult? Result)? resumed)
        {
            int rounds = Math.Max(1, options.Rounds);
            var current = resumed?.Bytes ?? original;
            DataFreePruneResult? last = resumed?.Result;
            double currentFraction = resumed is null ? 1 : _rounds.LastOrDefault(r => r.Accepted) is { MeasuredMs: { } m, OriginalMs: { } o } ? m / o : 1;
            var (macsLimit, paramsLimit) = FixedLimits();
            for (int r = (resumed?.Round ?? 0) + 1; r <= rounds && !cancel.IsCancellationRequested; r++)
            {
                double share = (double)r / rounds;
                long? roundMacs = macsLimit is { } macs ? Interpolate(_baseline.Macs, macs, share) : null;
                long? roundParams = paramsLimit is { } p ? Interpolate(_baseline.Params, p, share) : null;
                double? roundFraction = _goalFraction is { } f && f < 1 ? Math.Pow(f, share) : null;
                // A limit the current model already meets (another objective bound harder in an earlier round) asks nothing more.
                var now = r == 1 ? _baseline : SteppedPruner.Baseline(Load(current), options.Prune.InputShapes);
                if (roundMacs >= now.Macs) roundMacs = null;
                if (roundParams >= now.Params) roundParams = null;
                var outcome = PruneRound(r, current, currentFraction, roundMacs, roundParams, roundFraction);
                if (outcome is null) break;
                var (bytes, result, fraction, record) = outcome;
                // The kept pruning's own notes (branches removed whole, groups ORT made keep); the guarded path added its already.
                foreach (var n in result.RuntimeNotes.Where(n => !_notes.Contains(n))) _notes.Add(n);
                if (trainer is not null && options.FinetuneEpochs > 0 && r < rounds)
                {
                    Say($"round {r}: fine-tuning {options.FinetuneEpochs} epoch(s)");
                    if (TryFineTune(bytes, options.FinetuneEpochs, $"round {r}") is not { } tuned) break;
                    bytes = tuned;
                }
                double? accuracy = trainer is null ? null : 100 * trainer.Evaluate(Load(bytes));
                _rounds[record] = _rounds[record] with { Accuracy = accuracy, Epochs = r < rounds ? options.FinetuneEpochs : 0, Accepted = true };
                current = bytes;
                last = result;
                currentFraction = fraction ?? currentFraction;
                _checkpoints?.Save(r, bytes, _rounds, _notes);
            }
            return (current, last);
        }

        /// <summary>The MACs and parameter limits of the fixed objectives (the size target as a parameter limit).</summary>
        private (long? Macs, long? Params) FixedLimits()
        {
            var resolved = options.Prune.Target.Resolve(_baseline.Macs, _baseline.Params);
            long? macs = resolved.Parts.OfType<Policy.PruneTarget.Macs>().Select(m => (long?)m.Limit).Min();
            long? parameters = resolved.Parts.OfType<Policy.PruneTarget.Params>().Select(p => (long?)p.Limit).Min();
            if (options.MaxSizeBytes is { } maxBytes)
            {
                // Float32 weights dominate the file: four bytes per parameter, plus what the graph itself takes.
                long overhead = Math.Max(0, original.LongLength - 4 * _baseline.Params);
                long fromSize = (maxBytes - overhead) / 4;
                if (fromSize <= 0)
                    throw new PruneInputException(PruneInputProblem.BadTarget, $"--max-size {maxBytes:N0} bytes is below what the graph alone takes ({overhead:N0} bytes without weights)");
                if (fromSize < _baseline.Params) parameters = Math.Min(parameters ?? long.MaxValue, fromSize);
            }
            return (macs, parameters);
        }

        private static long Interpolate(long original, long limit, double share) =>
            (long)Math.Floor(original * Math.Pow((double)limit / original, share));

        /// <summary>A measured latency this far below the goal (as a share of it) prunes again with a looser budget.</summary>
        private const double LatencySlack = 0.06;

        /// <summary>
        /// The last round aims this share under the goal: a new measurement of the same two models lands about a point either
        /// side (tools/bench/results/latency-target.md), and the attempt kept is the one closest under the goal, so without a
        /// margin the final measurement misses about as often as it meets.
        /// </summary>
        private const double MeasurementMargin = 0.02;

        /// <summary>
        /// Prunes <paramref name="current"/> toward the round's limits; with a latency goal, measures the result beside the
        /// original and prunes again with a tighter predicted budget while it misses. Records each attempt.
        /// Returns null when nothing could be pruned.
        /// </summary>
        private PrunedAttempt? PruneRound(int round, byte[] current, double currentFraction,
            long? macs, long? parameters, double? goalFraction)
        {
            double? currentMs = null;
            long? paramLimit = parameters;
            var scores = new ScoreCache();
            // Every attempt of the round, and those that met everything; the attempt kept and the one measured closest follow from them.
            var tried = new List<PrunedAttempt>();
            var meetings = new List<PrunedAttempt>();
            // Of the attempts that meet everything, the one that removed the least (the highest latency share; the first of equals).
            PrunedAttempt? Meeting() => meetings.OrderByDescending(a => a.Fraction ?? 0).FirstOrDefault();
            PrunedAttempt? Closest() => tried.OrderBy(a => a.Fraction ?? 0).FirstOrDefault();
            double? aim = goalFraction is { } aimed && round == Math.Max(1, options.Rounds) ? aimed * (1 - MeasurementMargin) : goalFraction;
            // Every measured attempt of the round: the latency model's correction for the next plan.
            var anchors = new List<Latency.LatencyAnchor>();
            var widths = new WidthRuleTrial(options.Prune.Constraints);
            for (int attempt = 1; attempt <= options.MaxLatencyAttempts + widths.ExtraAttempts && !cancel.IsCancellationRequested; attempt++)
            {
                var parts = new List<TargetSpec>();
                if (macs is { } m) parts.Add(new TargetSpec.Flops(Count(m)));
                if (paramLimit is { } p) parts.Add(new TargetSpec.Params(Count(p)));
                double? budget = null;
                Policy.ILatencyPredictor? tables = null; // the latency model of this attempt's plan, uncorrected
                var prune = options.Prune with { Scores = scores, AllowFinerWidths = false, Constraints = widths.Current };
                if (goalFraction is not null)
                {
                    currentMs ??= ReferenceEquals(current, original) ? _originalMs
                        : MeasureOne(current);
                    // The first plan aims at the goal; once a measurement corrects the model, at the middle of the accepted band.
                    budget = currentMs.Value * aim!.Value / currentFraction * (anchors.Count == 0 ? 1 : 1 - LatencySlack / 2);
                    parts.Add(new TargetSpec.Latency(budget.Value, options.Latency!));
                    var (ms, measuredSoFar) = (currentMs.Value, anchors.ToArray());
                    prune = prune with { LatencyPredictor = (a, b) => Latency.AnchoredLatencyPredictor.Wrap(tables = options.LatencyModel!(a, b, ms), ms, measuredSoFar) };
                }
                var goal = string.Join(", ", Describe(macs, paramLimit, goalFraction));
                Say($"round {round}, attempt {attempt}: pruning to {goal}");
                DataFreePruneResult result;
                byte[] bytes;
                LatencyPair? pair = null;
                try
                {
                    if (goalFraction is null)
                    {
                        // No latency goal: the guard keeps the result from running slower than the original (coarser widths when it does).
                        var guarded = LatencyGuardedPruner.Run(current, modelDirectory, label, prune with { Target = new TargetSpec.All(parts) }, options.Timing,
                            options.MeasureLatency, reference: original);
                        (result, bytes) = (guarded.Result, guarded.Bytes ?? OnnxModelFile.ToBytes(guarded.Result.Model));
                        foreach (var n in guarded.Notes.Where(n => !_notes.Contains(n))) _notes.Add(n);
                    }
                    else
                    {
                        result = DataFreePruner.Run(Load(current), prune with { Target = new TargetSpec.All(parts) });
                        bytes = OnnxModelFile.ToBytes(result.Model);
                        // The widths come in steps: a corrected plan can land on an earlier attempt's model, and measuring it
                        // again would only sample the noise, so the search ends there.
                        if (tried.FirstOrDefault(t => t.Bytes.AsSpan().SequenceEqual(bytes)) is { } twin)
                        {
                            _notes.Add($"round {round}: attempt {attempt} planned the model of attempt {_rounds[twin.Record].Attempt} again " +
                                       "(the widths cannot land closer to the goal); the search stopped there");
                            break;
                        }
                        pair = MeasurePair(bytes);
                    }
                }
                catch (PruneInputException e) when (widths.OnWholeMultiples)
                {
                    // Whole multiples cannot prune this model at all (every group as narrow as the multiple).
                    _rounds.Add(new RoundRecord(round, attempt, goal, 0, 0, 0, null, null, null, null, 0, false, widths.GoBack($"cannot prune it ({e.Message})", anchors)));
                    continue;
                }
                catch (PruneInputException e) when (round > 1 && e.Problem == PruneInputProblem.NothingPrunable)
                {
                    _rounds.Add(new RoundRecord(round, attempt, goal, 0, 0, 0, null, null, null, null, 0, false, e.Message));
                    return Meeting() ?? tried.LastOrDefault();
                }
                double? predicted = budget is not null ? result.PredictedLatencyMs : null;
                double? fraction = pair is null ? null : pair.AfterMs / pair.BeforeMs;
                if (tables is not null && fraction is { } f && currentMs is { } unpruned)
                    anchors.Add(new(1 - tables.Predict(result.RemovedUnits) / unpruned, 1 - f / currentFraction));
                bool latencyMiss = fraction > aim + 1e-9;
                // Well under the goal: the latency model under-predicted the saving, and channels were removed for nothing.
                bool latencySlack = !latencyMiss && fraction < aim * (1 - LatencySlack);
                bool sizeMiss = options.MaxSizeBytes is { } maxBytes && bytes.Length > maxBytes && round == Math.Max(1, options.Rounds);
                // A plan that reaches every limit but its predicted latency removed the most it could toward the budget; the
                // measurement, not the prediction, decides whether that meets the goal.
                bool onlyPredictionShort = !result.TargetMet && pair is not null && (macs is null || result.MacsAfter <= macs)
                                           && (paramLimit is null || result.ParamsAfter <= paramLimit);
                bool planMet = result.TargetMet || onlyPredictionShort;
                bool meets = planMet && !latencyMiss && !sizeMiss;
                // A tighter budget that measured slower than the looser one before it: the per-layer tables do not see what
                // made it slower (layout reorders ORT adds around narrow layers), and tightening further would only repeat it.
                var near = Closest();
                bool rose = latencyMiss && near is not null && fraction >= near.Fraction && result.MacsAfter < near.Result.MacsAfter;
                // A miss with widths below the multiple tries whole multiples; a miss there may go back (WidthRuleTrial).
                var narrow = widths.NarrowMiss(result, latencyMiss);
                bool coarsen = narrow.Count > 0;
                var back = widths.WhyGoBack(latencyMiss, fraction, onlyPredictionShort);
                bool revert = back is not null;
                if (rose && !coarsen && !revert) _notes.Add($"round {round}: a smaller model measured slower ({100 * fraction:0.0}% against {100 * near!.Fraction:0.0}% of the original); " +
                                     "the per-layer tables do not see what made it slower (ONNX Runtime's layout reorders around narrow layers), so the search stopped there");
                // Another attempt follows a miss, or a result well under the goal, while attempts remain.
                // (A plan already at the most it can remove that still misses has nothing left to try.)
                bool again = attempt < options.MaxLatencyAttempts + widths.ExtraAttempts && planMet && (coarsen || revert || (!(onlyPredictionShort && latencyMiss) && !rose)) && (!meets || latencySlack);
                string measured = pair is null ? "" : $"measured {pair.AfterMs:0.###} ms ({100 * fraction:0.0}% of the original's {pair.BeforeMs:0.###} ms)";
                string Verdict()
                {
                    if (latencyMiss)
                        return $"{measured} misses the goal {100 * goalFraction:0.0}%"
                               + (aim < goalFraction ? $" (aimed at {100 * aim:0.0}%, under it by the measurement's noise)" : "")
                               + (again ? "; pruning again with a tighter predicted budget" : "");
                    if (sizeMiss) return $"{bytes.Length:N0} bytes miss --max-size" + (again ? "; pruning again with fewer parameters" : "");
                    if (latencySlack && again) return $"{measured} is well under the goal {100 * goalFraction:0.0}%; pruning again with a looser predicted budget";
                    return pair is null ? "met the round's goal" : $"{measured} meets the goal {100 * goalFraction:0.0}%";
                }
                var note = !planMet ? $"the plan could not meet the round's targets: {result.Shortfall}"
                    : onlyPredictionShort ? $"{result.Shortfall} (the plan removed what it could; the measurement decides): {Verdict()}"
                    : Verdict();
                // The measured latency is judged on its own (here and in the final measurement): the plan met what it is judged on.
                if (onlyPredictionShort) result = result with { TargetMet = true, Shortfall = null };
                if (again && coarsen)
                    note += "; " + widths.SwitchToWholeMultiples(narrow, fraction, anchors);
                else if (again && revert)
                    note += "; " + widths.GoBack(back!, anchors);
                else if (again && anchors.Count > 0)
                    note += $"; the tables predicted a saving of {100 * anchors[^1].PredictedSaving:0.0}%, measured {100 * anchors[^1].MeasuredSaving:0.0}%: the next plan's model is corrected by every measurement so far";
                _rounds.Add(new RoundRecord(round, attempt, goal, result.MacsAfter, result.ParamsAfter, bytes.LongLength, predicted, pair?.AfterMs, pair?.BeforeMs, null, 0, false, note));
                var candidate = new PrunedAttempt(bytes, result, fraction, _rounds.Count - 1);
                tried.Add(candidate);
                if (meets) meetings.Add(candidate);
                if (!again) break;
                if (sizeMiss) paramLimit = (paramLimit ?? result.ParamsAfter) - (bytes.Length - options.MaxSizeBytes!.Value) / 4 - 1;
            }
            if (meetings.Count == 0 && tried.Count > 0) _notes.Add($"round {round}: the goal was missed by every pruning; kept the one measured closest to it");
            // The last round keeps the attempt measured closest under the goal, the one a lucky measurement most likely put there:
            // it is measured again before it is kept, and an attempt that removed more is kept when it lands above the aim.
            if (aim < goalFraction && meetings.Count > 1) return Confirmed(round, meetings, aim!.Value);
            return Meeting() ?? (goalFraction is null ? tried.LastOrDefault() : Closest());
        }

        /// <summary>The attempt of <paramref name="meetings"/> (each measured under <paramref name="aim"/> once) that removed the
        /// least and measures under it again; the one that removed the most, which nothing smaller can replace, unmeasured.</summary>
        private PrunedAttempt Confirmed(int round, List<PrunedAttempt> meetings, double aim)
        {
            var ordered = meetings.OrderByDescending(c => c.Fraction).ToList();
            foreach (var c in ordered.SkipLast(1))
            {
                Say($"round {round}: measuring attempt {_rounds[c.Record].Attempt} again before keeping it");
                var pair = MeasurePair(c.Bytes);
                double fraction = pair.AfterMs / pair.BeforeMs;
                if (fraction <= aim + 1e-9) return c;
                _notes.Add($"round {round}: attempt {_rounds[c.Record].Attempt} measured {100 * fraction:0.0}% of the original when measured again " +
                           $"({100 * c.Fraction:0.0}% the first time), above the aim {100 * aim:0.0}%: an attempt that removed more is kept");
            }
            return ordered[^1];
        }

        private static IEnumerable<string> Describe(long? macs, long? parameters, double? fraction)
        {
            if (fraction is { } f) yield return $"{100 * f:0.0}% of the original's latency";
            if (macs is { } m) yield return $"{m:N0} MACs";
            if (parameters is { } p) yield return $"{p:N0} params";
        }

        private static string Count(long value) => value.ToString(CultureInfo.InvariantCulture);

        /// <summary>Only an accuracy budget: remove as much as it allows (the adaptive schedule over the fraction of MACs removed).</summary>
        private (byte[] Bytes, DataFreePruneResult? Result) AdaptiveRounds(double accuracyBefore, (int Round, byte[] Bytes, DataFreePruneResult? Result)? resumed)
        {
            var schedule = new AdaptiveSchedule();
            var good = resumed?.Bytes ?? original;
            DataFreePruneResult? goodResult = resumed?.Result;
            if (resumed is not null) schedule.Accept(1 - (double)goodResult!.MacsAfter / _baseline.Macs);
            double drop = options.MaxAccuracyDrop!.Value;
            var evaluated = new List<(int Round, byte[] Pruned, double Accuracy)>(); // each fine-tuned round: its model before the fine-tune
            for (int r = (resumed?.Round ?? 0) + 1; r <= Math.Max(1, options.Rounds) && !schedule.Done && !cancel.IsCancellationRequested; r++)
            {
                double fraction = schedule.Next;
                long limit = (long)Math.Floor(_baseline.Macs * (1 - fraction));
                var goal = $"{100 * (1 - fraction):0.0}% of the original's MACs ({limit:N0})";
                Say($"round {r}: pruning to {goal}");
                DataFreePruneResult result;
                byte[] bytes;
                try
                {
                    // Through the latency guard: a few percent of the MACs removed at awkward widths can run slower than the original.
                    var guarded = LatencyGuardedPruner.Run(good, modelDirectory, label,
                        options.Prune with { Target = new TargetSpec.Flops(Count(limit)), Scores = new ScoreCache(), AllowFinerWidths = false },
                        options.Timing, options.MeasureLatency, reference: original);
                    (result, bytes) = (guarded.Result, guarded.Bytes ?? OnnxModelFile.ToBytes(guarded.Result.Model));
                    _notes.AddRange(guarded.Notes.Select(n => $"round {r}: {n}")); // the guard's notes are distinct; the prefix makes each round's its own
                }
                catch (PruneInputException e) when (e.Problem is PruneInputProblem.NothingPrunable or PruneInputProblem.BadTarget)
                {
                    _rounds.Add(new RoundRecord(r, 1, goal, 0, 0, 0, null, null, null, null, 0, false, e.Message));
                    schedule.Reject();
                    continue;
                }
                if (!result.TargetMet)
                {
                    // Nothing to learn from fine-tuning a model the round rejects whatever its accuracy.
                    _rounds.Add(new RoundRecord(r, 1, goal, result.MacsAfter, result.ParamsAfter, bytes.LongLength, null, null, null, null, 0, false,
                        $"rejected: {result.Shortfall}"));
                    schedule.Reject();
                    continue;
                }
                // A smaller step can plan the model of an earlier round again (the widths come in steps): its fine-tune and
                // evaluation would repeat, seed for seed, what that round found.
                var pruned = bytes;
                if (evaluated.FindIndex(e => e.Pruned.AsSpan().SequenceEqual(pruned)) is var at and >= 0)
                {
                    var twin = evaluated[at];
                    _rounds.Add(new RoundRecord(r, 1, goal, result.MacsAfter, result.ParamsAfter, bytes.LongLength, null, null, null, twin.Accuracy, 0, false,
                        $"rejected: the model of round {twin.Round} again (test top-1 {twin.Accuracy:0.00}% then); back to the last accepted round with a smaller step"));
                    schedule.Reject();
                    continue;
                }
                if (options.FinetuneEpochs > 0)
                {
                    Say($"round {r}: fine-tuning {options.FinetuneEpochs} epoch(s)");
                    if (TryFineTune(bytes, options.FinetuneEpochs, $"round {r}") is not { } tuned) break;
                    bytes = tuned;
                }
                double accuracy = 100 * trainer!.Evaluate(Load(bytes));
                bool keeps = accuracyBefore - accuracy <= drop + 1e-9;
                evaluated.Add((r, pruned, accuracy));
                _rounds.Add(new RoundRecord(r, 1, goal, result.MacsAfter, result.ParamsAfter, bytes.LongLength, null, null, null, accuracy, options.FinetuneEpochs, keeps,
                    keeps ? $"accepted: test top-1 {accuracy:0.00}% (budget {accuracyBefore - drop:0.00}%)"
                        : $"rejected: test top-1 {accuracy:0.00}% is below {accuracyBefore - drop:0.00}%; back to the last accepted round with a smaller step"));
                if (keeps)
                {
                    schedule.Accept(1 - (double)result.MacsAfter / _baseline.Macs);
                    good = bytes;
                    goodResult = result;
                    _checkpoints?.Save(r, bytes, _rounds, _notes);
                }
                else schedule.Reject();
            }
            if (goodResult is null) _notes.Add("no round kept the accuracy budget: the model is returned unpruned");
            return (good, goodResult ?? Snapshot(good));
        }

        /// <summary>A result that removes nothing from <paramref name="bytes"/>: the figures of a model as it is (the original when no
        /// round kept the accuracy budget, a checkpoint's model when a run resumes after its last round).</summary>
        private DataFreePruneResult Snapshot(byte[] bytes)
        {
            var macs = SteppedPruner.Baseline(Load(bytes), options.Prune.InputShapes).Macs;
            var snapshot = DataFreePruner.Run(Load(bytes), options.Prune with
            {
                Target = new TargetSpec.Flops(Count(macs)), Recover = Recovery.RecoveryMode.None, CheckWithRuntime = false, Scores = new ScoreCache(),
                Criterion = "l1", Calibration = null,
            });
            // The report names the criterion the rounds scored with, not the stand-in this no-removal run used.
            return snapshot with { Criterion = options.Prune.Criterion };
        }
    }
}
