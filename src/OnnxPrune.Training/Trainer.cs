using System.Diagnostics;
using System.Globalization;
using OnnxPrune.Autodiff;
using OnnxPrune.IR;
using OnnxPrune.Onnx;
using OnnxPrune.Runtime;
using OnnxPrune.Runtime.Lowering;
using OnnxPrune.Training.Data;

namespace OnnxPrune.Training;

/// <summary>
/// Trains an image classifier with SGD, running every step as one ONNX Runtime run of the
/// training graph that <see cref="GradientBuilder"/> builds from the model:
/// <code>
/// using var trainer = new Trainer(Architectures.Architectures.Build("resnet20", seed), options);
/// var history = trainer.Train(train, test);
/// var model = trainer.ExportModel(metadata);   // inference model with the trained weights
/// </code>
/// The trainer keeps the weights, the momentum buffers and the BatchNorm running statistics in
/// managed float arrays allocated once. A step feeds the current batch and weights (wrapped, not
/// copied), fetches the loss, the logits, the gradients and each BatchNorm's batch statistics,
/// then updates the weights in place (<see cref="SgdOptions"/>) and the running statistics
/// (running = (1 - m)·running + m·batch, m = <see cref="TrainerOptions.BatchNormMomentum"/>).
/// Evaluation and export write the current weights and running statistics into the inference
/// model's initializers and run that model, so what is measured is what is saved.
/// A diverged step is undone by rolling back to an in-memory snapshot with half the learning rate
/// (Trainer.Rollback.cs, <see cref="DivergenceOptions"/>).
/// Not thread-safe.
/// </summary>
internal sealed partial class Trainer : IDisposable
{
    private readonly Model _inference;
    private readonly TrainingGraph _graph;
    private readonly GradientSession _session;
    private readonly Parameter[] _parameters;
    private readonly RunningStatistic[] _statistics;
    private readonly string[] _fetch;
    private readonly string _labelsInput;
    private readonly List<EpochResult> _history = [];
    private readonly Shape? _declaredInputShape;
    private readonly Dictionary<string, TensorData> _feeds = new(StringComparer.Ordinal);
    private float[] _images = [];
    private long[] _labels = [];
    private Dataset? _batchData;
    private readonly DistillationTeacher? _teacher;
    private readonly string? _teacherInput;

    private sealed class Parameter(string name, long[] dims, float[] values, string gradientOutput, bool decay, bool momentum)
    {
        public string Name { get; } = name;
        public long[] Dims { get; } = dims;
        public float[] Values { get; } = values;
        public float[] Velocity { get; } = momentum ? new float[values.Length] : [];
        public string GradientOutput { get; } = gradientOutput;
        public bool Decay { get; } = decay;
        public TensorData Feed { get; } = TensorData.Create(values, dims);
    }

    private sealed record RunningStatistic(BatchNormStatistics Node, float[] Mean, float[] Variance, long[] Dims);

    /// <summary>Prepares training of <paramref name="model"/> (not modified: the trainer works on a copy).</summary>
    /// <exception cref="ArgumentException">An option is out of range.</exception>
    /// <exception cref="TrainingInputException">The model is not a trainable image classifier
    /// (no float input, fixed batch size that differs from the batch size, non-float parameters).</exception>
    /// <exception cref="GradientException">The training graph cannot be built (an op without a gradient rule ...).</exception>
    /// <exception cref="OrtException">ONNX Runtime rejected the training graph.</exception>
    public Trainer(Model model, TrainerOptions options)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Options = options;
        Signature = ClassifierSignature.Of(model);
        if (Signature.FixedBatch is { } fixedBatch && fixedBatch != options.BatchSize)
            throw new TrainingInputException(
                $"the model's input '{Signature.InputName}' has a fixed batch size of {fixedBatch}, but training feeds batches of {options.BatchSize}: " +
                "export the model with a dynamic batch axis (e.g. torch.onnx.export(..., dynamic_axes={'input': {0: 'batch'}}))");

        _inference = model.Clone();
        _declaredInputShape = _inference.Graph.Inputs.First(i => i.Name == Signature.InputName).Shape;
        if (options.InputSampleDims is { } sampleDims)
        {
            FixInputDims(_inference, Signature, sampleDims);
            Signature = ClassifierSignature.Of(_inference);
        }
        var trainable = options.Trainable ?? ClassifierSignature.DefaultTrainable(_inference);
        if (trainable.Count == 0) throw new TrainingInputException("the model has no float weights feeding Conv, Gemm, MatMul or BatchNormalization to train");
        // Constant nodes holding weights or running statistics (paddle2onnx stores them so) become
        // initializers, so trained values can be written back.
        var runningStatistics = _inference.Graph.Nodes.Where(n => n.IsOnnxDomain && n.OpType == "BatchNormalization")
            .SelectMany(n => new[] { n.Input(3), n.Input(4) }).OfType<Value>().Select(v => v.Name);
        ClassifierSignature.PromoteConstants(_inference, trainable.Concat(runningStatistics));
        foreach (var name in trainable)
        {
            if (!_inference.Graph.Initializers.TryGetValue(name, out var init))
                throw new TrainingInputException($"'{name}' is not an initializer of the model, so it cannot be trained");
            if (init.ConstValue!.DataType != DataType.Float)
                throw new TrainingInputException($"initializer '{name}' is {DataTypes.Name(init.ConstValue.DataType)}; the trainer trains float32 weights only");
        }

        _labelsInput = FreeName(_inference.Graph, "labels");
        Loss loss = new SoftmaxCrossEntropyLoss(Signature.LogitsName, _labelsInput);
        // A weight of 0 trains exactly as without distillation: no KL term, no teacher run.
        if (options.Distillation is { Weight: > 0 } distillation)
        {
            _teacherInput = FreeName(_inference.Graph, "teacher_logits");
            loss = new DistillationLoss(Signature.LogitsName, _labelsInput, _teacherInput, distillation.Temperature, distillation.Weight);
        }
        // Every training step feeds exactly BatchSize images (the last partial batch is dropped), so
        // the training graph gets a static batch: static shapes let convolutions and their weight
        // gradients run on ORT's blocked-layout kernels (BlockedConvolutions).
        var imageInput = _inference.Graph.Inputs.First(i => i.Name == Signature.InputName);
        var inferenceShape = imageInput.Shape!;
        imageInput.Shape = new Shape(new[] { Dim.Known(options.BatchSize) }.Concat(inferenceShape.Dims.Skip(1)));
        try
        {
            _graph = GradientBuilder.Build(_inference, new GradientOptions
            {
                Trainable = trainable,
                Loss = loss,
                WeightsAsInputs = true,
                BatchNorm = BatchNormMode.BatchStatistics,
                KeepModelOutputs = true,
                BlockedConvolutions = options.Session.Provider == ExecutionProvider.Cpu,
                ChannelBlock = options.Session.Provider == ExecutionProvider.Cpu ? NchwcSupport.BlockSize() : 0,
            });
        }
        finally
        {
            imageInput.Shape = inferenceShape;
        }
        var sgd = options.Sgd;
        _parameters = _graph.Parameters.Select(p => new Parameter(p.Name, p.Dims, p.InitialValue.ToFloatArray(), p.GradientOutput,
            decay: sgd.WeightDecay != 0 && (sgd.DecayNormAndBias || p.Dims.Length >= 2), momentum: sgd.Momentum != 0)).ToArray();
        var statistics = new List<RunningStatistic>();
        foreach (var s in _graph.BatchNormStatistics)
        {
            if (!_inference.Graph.Initializers.TryGetValue(s.RunningMean, out var mean) || !_inference.Graph.Initializers.TryGetValue(s.RunningVariance, out var variance))
                throw new TrainingInputException($"BatchNormalization '{s.NodeName}': its running mean and variance must be initializers to be updated");
            if (mean.ConstValue!.DataType != DataType.Float || variance.ConstValue!.DataType != DataType.Float)
                throw new TrainingInputException($"BatchNormalization '{s.NodeName}': running statistics must be float32");
            statistics.Add(new RunningStatistic(s, mean.ConstValue.ToFloatArray(), variance.ConstValue.ToFloatArray(), mean.ConstValue.Dims));
        }
        _statistics = statistics.ToArray();

        var logitsOutput = _graph.ModelOutputs.Contains(Signature.LogitsName) ? Signature.LogitsName
            : _graph.ModelOutputs.Contains(Signature.OutputName) ? Signature.OutputName : null;
        LogitsOutput = logitsOutput;
        var fetch = new List<string> { _graph.LossOutput };
        if (logitsOutput is not null) fetch.Add(logitsOutput);
        fetch.AddRange(_parameters.Select(p => p.GradientOutput));
        foreach (var s in _statistics) { fetch.Add(s.Node.BatchMeanOutput); fetch.Add(s.Node.BatchVarianceOutput); }
        _fetch = fetch.ToArray();
        foreach (var p in _parameters) _feeds[p.Name] = p.Feed;
        _session = new GradientSession(_graph, options.Session);
        if (_teacherInput is not null)
        {
            try { _teacher = new DistillationTeacher(options.Distillation!, options.Session, options.BatchSize, Signature); }
            catch
            {
                _session.Dispose();
                throw;
            }
        }
    }

    /// <summary>Seconds the distillation teacher has run (0 without one).</summary>
    public double TeacherSeconds => _teacher?.Seconds ?? 0;

    public TrainerOptions Options { get; }

    public ClassifierSignature Signature { get; }

    /// <summary>The training graph (for inspection).</summary>
    public TrainingGraph TrainingGraph => _graph;

    /// <summary>Names of the trained initializers, in model order.</summary>
    public IReadOnlyList<string> ParameterNames => _parameters.Select(p => p.Name).ToList();

    /// <summary>Epochs finished (including those restored from a checkpoint).</summary>
    public int CompletedEpochs { get; private set; }

    /// <summary>Optimizer steps taken.</summary>
    public long Step { get; private set; }

    public IReadOnlyList<EpochResult> History => _history;

    /// <summary>The output used for training accuracy (null when the model's logits are not an output of the training graph).</summary>
    private string? LogitsOutput { get; }

    /// <summary>A copy of the current value of every trained parameter, by name.</summary>
    public IReadOnlyDictionary<string, float[]> SnapshotParameters() =>
        _parameters.ToDictionary(p => p.Name, p => (float[])p.Values.Clone(), StringComparer.Ordinal);

    /// <summary>A copy of every BatchNorm running mean and variance, by initializer name.</summary>
    public IReadOnlyDictionary<string, float[]> SnapshotRunningStatistics()
    {
        var result = new Dictionary<string, float[]>(StringComparer.Ordinal);
        foreach (var s in _statistics)
        {
            result[s.Node.RunningMean] = (float[])s.Mean.Clone();
            result[s.Node.RunningVariance] = (float[])s.Variance.Clone();
        }
        return result;
    }

    /// <summary>
    /// Trains from <see cref="CompletedEpochs"/> up to <see cref="TrainerOptions.Epochs"/>:
    /// shuffled batches (the last partial batch dropped), augmented and normalised as the options
    /// say; after each epoch an evaluation on <paramref name="validation"/> (when given and
    /// <see cref="TrainerOptions.EvaluateEveryEpoch"/>) and a checkpoint (when
    /// <see cref="TrainerOptions.CheckpointPath"/> is set).
    /// </summary>
    /// <param name="progress">Called after every step.</param>
    /// <param name="epochDone">Called after every epoch (after its evaluation and checkpoint).</param>
    /// <returns>The epochs trained by this call.</returns>
    /// <exception cref="TrainingInputException">The data does not fit the model, or the training set is smaller than one batch.</exception>
    /// <remarks>A step whose loss is NaN, infinite or exploding (<see cref="DivergenceOptions"/>) is
    /// undone: the trainer rolls back to the last good state, halves the learning rate for the rest
    /// of the run, raises <see cref="RolledBack"/> and goes on.</remarks>
    /// <exception cref="TrainingDivergedException">It diverged again after <see cref="DivergenceOptions.MaxRollbacks"/> rollbacks.</exception>
    /// <exception cref="OperationCanceledException">Cancelled (between steps).</exception>
    public IReadOnlyList<EpochResult> Train(Dataset train, Dataset? validation = null, Action<TrainingProgress>? progress = null,
        Action<EpochResult>? epochDone = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(train);
        CheckData(train);
        if (validation is not null) CheckData(validation);
        var options = Options;
        var batches = new BatchIterator(train, BatchOptions.Training(options.BatchSize, options.Seed, options.Augmentation, options.Normalization));
        if (batches.BatchesPerEpoch == 0)
            throw new TrainingInputException($"{train.Source} has {train.Count} training images, fewer than one batch of {options.BatchSize}: lower the batch size");
        PrepareBatch(train, options.BatchSize);
        int stepsPerEpoch = batches.BatchesPerEpoch;
        var results = new List<EpochResult>();
        var clock = new Stopwatch();
        var guard = new DivergenceGuard(options.Divergence);
        var good = new TrainingSnapshot(_parameters, _statistics);
        while (CompletedEpochs < options.Epochs)
        {
            int epoch = CompletedEpochs;
            batches.StartEpoch(epoch);
            var tally = new EpochTally();
            double rate = 0;
            good.Capture(Step, tally);
            var teacherBefore = TeacherSeconds;
            clock.Restart();
            while (batches.Next(_images, _labels) > 0)
            {
                cancellationToken.ThrowIfCancellationRequested();
                rate = options.Sgd.LearningRate * options.Schedule.Factor(Step, stepsPerEpoch, options.Epochs) * LearningRateFactor;
                var (loss, right) = RunStep((float)rate);
                if (LossFault is { } fault) loss = fault(Step, loss);
                if (guard.Check(loss) is { } reason)
                {
                    RollBack(good, reason, epoch, tally.Batch + 1, rate, batches, ref tally);
                    continue;
                }
                guard.Accept(loss);
                Step++;
                tally = tally.Add(loss, right, options.BatchSize);
                if (tally.Batch % options.Divergence.SnapshotEverySteps == 0) good.Capture(Step, tally);
                progress?.Invoke(new TrainingProgress(epoch + 1, options.Epochs, tally.Batch, stepsPerEpoch, tally.LossSum / tally.Batch,
                    LogitsOutput is null ? double.NaN : (double)tally.Correct / tally.Seen, tally.Seen / Math.Max(1e-9, clock.Elapsed.TotalSeconds), rate));
            }
            int batch = tally.Batch;
            double lossSum = tally.LossSum;
            long correct = tally.Correct, seen = tally.Seen;
            clock.Stop();
            var seconds = clock.Elapsed.TotalSeconds;
            EvaluationResult? evaluation = validation is not null && options.EvaluateEveryEpoch ? Evaluate(validation) : null;
            var result = new EpochResult(epoch + 1, lossSum / batch, LogitsOutput is null ? double.NaN : (double)correct / seen, rate,
                seen / Math.Max(1e-9, seconds), seconds, evaluation, TeacherSeconds - teacherBefore);
            CompletedEpochs++;
            _history.Add(result);
            results.Add(result);
            if (options.CheckpointPath is { } path) ToCheckpoint().Save(path);
            epochDone?.Invoke(result);
        }
        return results;
    }

    /// <summary>
    /// Checks that <paramref name="data"/> fits the model: image shape against the input, labels
    /// against the classes (when the output does not declare its class count, one ORT run of the
    /// model on a blank image finds it).
    /// </summary>
    /// <exception cref="TrainingInputException">It does not fit; the message says how.</exception>
    public void CheckData(Dataset data)
    {
        ArgumentNullException.ThrowIfNull(data);
        Signature.CheckData(data);
        _classCount ??= Signature.ClassCount ?? ProbeClassCount(data);
        var labels = data.Labels;
        for (var i = 0; i < labels.Length; i++)
            if ((ulong)labels[i] >= (ulong)_classCount.Value)
                throw new TrainingInputException(
                    $"{data.Source}: label of sample {i} is {labels[i]}, outside [0, {_classCount}) for the model's {_classCount} classes (output '{Signature.OutputName}')");
    }

    private int? _classCount;

    private int ProbeClassCount(Dataset data)
    {
        int batch = (int)(Signature.FixedBatch ?? 1);
        var dims = Signature.BatchDims(batch, data);
        using var session = InferenceSession.FromModel(_inference, Options.Session);
        var output = session.Run(new Dictionary<string, TensorData> { [Signature.InputName] = TensorData.Create(new float[dims.Aggregate(1L, (a, b) => a * b)], dims) },
            [Signature.OutputName])[Signature.OutputName];
        if (output.Dims.Count != 2)
            throw new TrainingInputException($"the model's output '{Signature.OutputName}' has shape [{string.Join(",", output.Dims)}]; training needs class scores [N, K]");
        return (int)output.Dims[1];
    }

    /// <summary>Free-form strings stored in every checkpoint this trainer writes.</summary>
    public Dictionary<string, string> CheckpointMetadata { get; } = new(StringComparer.Ordinal);

    private void PrepareBatch(Dataset data, int batchSize)
    {
        _batchData = data;
        var dims = Signature.BatchDims(batchSize, data);
        long size = dims.Aggregate(1L, (a, b) => a * b);
        if (_images.LongLength != size || !_feeds.TryGetValue(Signature.InputName, out var feed) || !feed.Dims.SequenceEqual(dims))
        {
            _images = new float[size];
            _labels = new long[batchSize];
            _feeds[Signature.InputName] = TensorData.Create(_images, dims);
            _feeds[_labelsInput] = TensorData.Create(_labels, batchSize);
        }
    }

    /// <summary>One step on the batch in the buffers: run, update the weights and running statistics.</summary>
    private (double Loss, long Correct) RunStep(float rate)
    {
        if (_teacher is not null)
            _feeds[_teacherInput!] = _teacher.Run(_images, _labels.Length, _batchData!, _classCount ?? Signature.ClassCount, Signature);
        var outputs = _session.Session.Run(_feeds, _fetch);
        var lossTensor = outputs[_graph.LossOutput];
        double loss = lossTensor.ElementType == DataType.Float ? lossTensor.As<float>()[0] : TensorConvert.ToDoubles(lossTensor)[0];
        long correct = 0;
        if (LogitsOutput is not null)
        {
            var logits = outputs[LogitsOutput];
            correct = CountCorrect(logits.As<float>(), _labels, _labels.Length, (int)logits.Dims[^1]);
        }
        var sgd = Options.Sgd;
        float momentum = (float)sgd.Momentum, decay = (float)sgd.WeightDecay;
        foreach (var p in _parameters)
        {
            var gradient = outputs[p.GradientOutput].As<float>();
            Sgd.Step(p.Values, gradient, p.Velocity, rate, momentum, sgd.Nesterov, p.Decay ? decay : 0);
        }
        float m = (float)Options.BatchNormMomentum;
        foreach (var s in _statistics)
        {
            Sgd.Blend(s.Mean, outputs[s.Node.BatchMeanOutput].As<float>(), m);
            Sgd.Blend(s.Variance, outputs[s.Node.BatchVarianceOutput].As<float>(), m);
        }
        return (loss, correct);
    }

    /// <summary>
    /// Top-1 accuracy and mean cross-entropy of the inference model with the current weights and
    /// running statistics, run by ONNX Runtime in batches of <see cref="TrainerOptions.EvaluationBatchSize"/>
    /// (images normalised as in training, not augmented).
    /// </summary>
    /// <exception cref="TrainingInputException">The data does not fit the model.</exception>
    public EvaluationResult Evaluate(Dataset data, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(data);
        CheckData(data);
        var clock = Stopwatch.StartNew();
        WriteWeights(_inference);
        using var session = InferenceSession.FromModel(_inference, Options.Session);
        var result = EvaluateModel(session, Signature, data, Options.EvaluationBatchSize, Options.Normalization, cancellationToken);
        return result with { Seconds = clock.Elapsed.TotalSeconds };
    }

    /// <summary>Accuracy and loss of any classifier session on <paramref name="data"/>.</summary>
    internal static EvaluationResult EvaluateModel(InferenceSession session, ClassifierSignature signature, Dataset data, int batchSize,
        ChannelNormalization? normalization, CancellationToken cancellationToken = default)
    {
        var clock = Stopwatch.StartNew();
        bool fixedBatch = signature.FixedBatch is not null;
        if (signature.FixedBatch is { } b) batchSize = (int)b; // partial batches are padded with zeros then
        var batches = new BatchIterator(data, BatchOptions.Evaluation(batchSize, normalization));
        var images = batches.NewImageBuffer();
        var labels = batches.NewLabelBuffer();
        var feeds = new Dictionary<string, TensorData> { [signature.InputName] = TensorData.Create(images, signature.BatchDims(batchSize, data)) };
        var fetch = new[] { signature.OutputName };
        batches.StartEpoch(0);
        long correct = 0;
        double lossSum = 0;
        int n;
        while ((n = batches.Next(images, labels)) > 0)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (n < batchSize && !fixedBatch)
            {
                var partial = images.AsSpan(0, n * data.SampleSize).ToArray();
                feeds[signature.InputName] = TensorData.Create(partial, signature.BatchDims(n, data));
            }
            var output = session.Run(feeds, fetch)[signature.OutputName];
            var scores = output.As<float>();
            int classes = (int)output.Dims[^1];
            var fed = fixedBatch ? batchSize : n;
            if (output.Dims.Count != 2 || output.Dims[0] != fed)
                throw new TrainingInputException($"the model's output '{signature.OutputName}' has shape [{string.Join(",", output.Dims)}] for a batch of {fed}; expected [{fed}, classes]");
            for (var i = 0; i < n; i++)
            {
                if ((ulong)labels[i] >= (ulong)classes)
                    throw new TrainingInputException($"{data.Source}: a label is {labels[i]}, outside [0, {classes}) for the model's {classes} classes");
                var row = scores.AsSpan(i * classes, classes);
                if (ArgMax(row) == labels[i]) correct++;
                lossSum += signature.OutputIsProbabilities ? -Math.Log(Math.Max(row[(int)labels[i]], 1e-30)) : CrossEntropy(row, (int)labels[i]);
            }
        }
        return new EvaluationResult((double)correct / data.Count, lossSum / data.Count, data.Count, clock.Elapsed.TotalSeconds);
    }

    /// <summary>
    /// The inference model with the current weights and running statistics in its initializers
    /// (BatchNormalization kept, with the running statistics, except those named in
    /// <see cref="TrainerOptions.FoldOnExport"/>, which are folded into their layers), and
    /// <paramref name="metadata"/> set in its metadata_props (replacing entries of the same keys,
    /// keeping the others).
    /// </summary>
    public Model ExportModel(IEnumerable<KeyValuePair<string, string>>? metadata = null)
    {
        WriteWeights(_inference);
        var model = _inference.Clone();
        if (Options.FoldOnExport is { Count: > 0 } inserted) BatchNormInsertion.FoldBack(model, inserted);
        model.Graph.Inputs.First(i => i.Name == Signature.InputName).Shape = _declaredInputShape; // dynamic dims stay dynamic
        if (metadata is not null)
            foreach (var (key, value) in metadata)
            {
                model.MetadataProps.RemoveAll(p => p.Key == key);
                model.MetadataProps.Add(new(key, value));
            }
        return model;
    }

    /// <summary>Writes weights and running statistics into <paramref name="model"/>'s initializers.</summary>
    private void WriteWeights(Model model)
    {
        var initializers = model.Graph.Initializers;
        foreach (var p in _parameters) initializers[p.Name].ConstValue = DenseTensor.FromFloats(p.Dims, p.Values);
        foreach (var s in _statistics)
        {
            initializers[s.Node.RunningMean].ConstValue = DenseTensor.FromFloats(s.Dims, s.Mean);
            initializers[s.Node.RunningVariance].ConstValue = DenseTensor.FromFloats(s.Dims, s.Variance);
        }
    }

    /// <summary>The current state as a checkpoint (arrays copied).</summary>
    public Checkpoint ToCheckpoint()
    {
        var o = Options;
        var running = new List<NamedArray>();
        foreach (var s in _statistics)
        {
            running.Add(new NamedArray(s.Node.RunningMean, s.Dims, (float[])s.Mean.Clone()));
            running.Add(new NamedArray(s.Node.RunningVariance, s.Dims, (float[])s.Variance.Clone()));
        }
        return new Checkpoint
        {
            CompletedEpochs = CompletedEpochs,
            Step = Step,
            Seed = o.Seed,
            Epochs = o.Epochs,
            BatchSize = o.BatchSize,
            Sgd = o.Sgd,
            Schedule = o.Schedule.ToString()!,
            CropPadding = o.Augmentation.CropPadding,
            HorizontalFlip = o.Augmentation.HorizontalFlip,
            BatchNormMomentum = o.BatchNormMomentum,
            Normalization = o.Normalization?.ToString(),
            Metadata = WithRollbackState(CheckpointMetadata),
            History = _history.ToList(),
            Parameters = _parameters.Select(p => new NamedArray(p.Name, p.Dims, (float[])p.Values.Clone())).ToList(),
            Velocities = Options.Sgd.Momentum == 0 ? [] : _parameters.Select(p => new NamedArray(p.Name, p.Dims, (float[])p.Velocity.Clone())).ToList(),
            RunningStatistics = running,
        };
    }

    /// <summary>Writes <see cref="ToCheckpoint"/> to <paramref name="path"/> atomically.</summary>
    public void SaveCheckpoint(string path) => ToCheckpoint().Save(path);

    /// <summary>
    /// Restores weights, momentum buffers, running statistics, epoch and step counters and the
    /// history from <paramref name="checkpoint"/>. The trainer's options must agree with the
    /// checkpoint's seed, batch size, optimizer, schedule and augmentation
    /// (<see cref="Checkpoint.ApplyTo"/> makes them agree); the epochs may differ.
    /// </summary>
    /// <exception cref="TrainingInputException">The checkpoint is of another model (different
    /// parameters or shapes), of a run with other settings, or already past the epochs asked for.</exception>
    public void Restore(Checkpoint checkpoint)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        var o = Options;
        var mismatches = new List<string>();
        if (checkpoint.Seed != o.Seed) mismatches.Add($"seed {checkpoint.Seed} vs {o.Seed}");
        if (checkpoint.BatchSize != o.BatchSize) mismatches.Add($"batch size {checkpoint.BatchSize} vs {o.BatchSize}");
        if (checkpoint.Sgd != o.Sgd) mismatches.Add($"optimizer {checkpoint.Sgd} vs {o.Sgd}");
        if (checkpoint.Schedule != o.Schedule.ToString()) mismatches.Add($"schedule {checkpoint.Schedule} vs {o.Schedule}");
        if (checkpoint.CropPadding != o.Augmentation.CropPadding || checkpoint.HorizontalFlip != o.Augmentation.HorizontalFlip) mismatches.Add("augmentation");
        if (checkpoint.Normalization != o.Normalization?.ToString()) mismatches.Add($"normalization {checkpoint.Normalization ?? "none"} vs {o.Normalization?.ToString() ?? "none"}");
        if (mismatches.Count > 0)
            throw new TrainingInputException($"the checkpoint was saved by a run with other settings ({string.Join("; ", mismatches)}); resume with the checkpoint's settings");
        if (checkpoint.CompletedEpochs > o.Epochs)
            throw new TrainingInputException($"the checkpoint has already trained {checkpoint.CompletedEpochs} epochs, more than the {o.Epochs} asked for");

        Check(checkpoint.Parameters, _parameters.Select(p => (p.Name, p.Dims)).ToList(), "parameters");
        var running = _statistics.SelectMany(s => new[] { (s.Node.RunningMean, s.Dims), (s.Node.RunningVariance, s.Dims) }).ToList();
        Check(checkpoint.RunningStatistics, running, "BatchNorm running statistics");
        if (o.Sgd.Momentum != 0) Check(checkpoint.Velocities, _parameters.Select(p => (p.Name, p.Dims)).ToList(), "momentum buffers");

        for (var i = 0; i < _parameters.Length; i++)
        {
            checkpoint.Parameters[i].Values.CopyTo(_parameters[i].Values, 0);
            if (o.Sgd.Momentum != 0) checkpoint.Velocities[i].Values.CopyTo(_parameters[i].Velocity, 0);
        }
        for (var i = 0; i < _statistics.Length; i++)
        {
            checkpoint.RunningStatistics[2 * i].Values.CopyTo(_statistics[i].Mean, 0);
            checkpoint.RunningStatistics[2 * i + 1].Values.CopyTo(_statistics[i].Variance, 0);
        }
        CompletedEpochs = checkpoint.CompletedEpochs;
        Step = checkpoint.Step;
        _history.Clear();
        _history.AddRange(checkpoint.History);
        foreach (var (key, value) in checkpoint.Metadata)
            if (!RestoreRollbackState(key, value)) CheckpointMetadata.TryAdd(key, value);

        static void Check(IReadOnlyList<NamedArray> saved, List<(string Name, long[] Dims)> expected, string what)
        {
            if (saved.Count != expected.Count)
                throw new TrainingInputException($"the checkpoint is of another model: it holds {saved.Count} {what}, this model has {expected.Count}");
            for (var i = 0; i < saved.Count; i++)
                if (saved[i].Name != expected[i].Name || !saved[i].Dims.SequenceEqual(expected[i].Dims))
                    throw new TrainingInputException(
                        $"the checkpoint is of another model: its {what} #{i} is '{saved[i].Name}' [{string.Join(",", saved[i].Dims)}], this model's is '{expected[i].Name}' [{string.Join(",", expected[i].Dims)}]");
        }
    }

    /// <summary>
    /// Training throughput: <paramref name="warmupSteps"/> untimed steps, then
    /// <paramref name="steps"/> timed ones, each as in <see cref="Train"/>: the next augmented and
    /// normalised batch of <paramref name="data"/> (starting over when it runs out), one ORT run of
    /// the training graph, the optimizer update. Returns images per second of the timed steps.
    /// </summary>
    public double MeasureThroughput(Dataset data, int warmupSteps, int steps)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentOutOfRangeException.ThrowIfNegative(warmupSteps);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(steps);
        Signature.CheckData(data);
        var batches = new BatchIterator(data, BatchOptions.Training(Options.BatchSize, Options.Seed, Options.Augmentation, Options.Normalization));
        if (batches.BatchesPerEpoch == 0) throw new TrainingInputException($"{data.Source} has fewer than {Options.BatchSize} images");
        PrepareBatch(data, Options.BatchSize);
        int epoch = 0;
        batches.StartEpoch(epoch);
        float rate = (float)(Options.Sgd.LearningRate * 0.01);
        void Step()
        {
            if (batches.Next(_images, _labels) == 0)
            {
                batches.StartEpoch(++epoch);
                batches.Next(_images, _labels);
            }
            RunStep(rate);
        }
        for (var i = 0; i < warmupSteps; i++) Step();
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < steps; i++) Step();
        return (double)steps * Options.BatchSize / clock.Elapsed.TotalSeconds;
    }

    public void Dispose()
    {
        _session.Dispose();
        _teacher?.Dispose();
    }

    /// <summary>Writes <paramref name="sampleDims"/> into the dynamic dims of the model's image input.</summary>
    private static void FixInputDims(Model model, ClassifierSignature signature, long[] sampleDims)
    {
        var input = model.Graph.Inputs.First(i => i.Name == signature.InputName);
        var declared = signature.SampleDims;
        long[] wanted = declared.Count == sampleDims.Length ? sampleDims
            : declared.Count == 1 ? [sampleDims.Aggregate(1L, (a, b) => a * b)]
            : throw new TrainingInputException($"the data holds {string.Join("x", sampleDims)} images, which do not fit the model's input '{signature.InputName}' [N,{string.Join(",", declared)}]");
        var dims = new List<Dim> { input.Shape![0] };
        for (var i = 0; i < declared.Count; i++)
        {
            if (declared[i].Value is { } known && known != wanted[i])
                throw new TrainingInputException(
                    $"the data holds {string.Join("x", sampleDims)} images but the model's input '{signature.InputName}' takes [N,{string.Join(",", declared)}]: the data does not fit the model");
            dims.Add(Dim.Known(wanted[i]));
        }
        input.Shape = new Shape(dims);
    }

    private static string FreeName(Graph graph, string wanted)
    {
        var used = new HashSet<string>(StringComparer.Ordinal);
        foreach (var v in graph.Inputs) used.Add(v.Name);
        foreach (var v in graph.InitializersInOrder()) used.Add(v.Name);
        foreach (var n in graph.Nodes) foreach (var o in n.Outputs) used.Add(o.Name);
        var name = wanted;
        for (var i = 1; used.Contains(name); i++) name = $"{wanted}_{i}";
        return name;
    }

    internal static int ArgMax(ReadOnlySpan<float> row)
    {
        int best = 0;
        for (var j = 1; j < row.Length; j++) if (row[j] > row[best]) best = j;
        return best;
    }

    private static long CountCorrect(float[] logits, long[] labels, int n, int classes)
    {
        long correct = 0;
        for (var i = 0; i < n; i++) if (ArgMax(logits.AsSpan(i * classes, classes)) == labels[i]) correct++;
        return correct;
    }

    /// <summary>-log softmax(row)[label], in double.</summary>
    internal static double CrossEntropy(ReadOnlySpan<float> row, int label)
    {
        double max = double.NegativeInfinity;
        foreach (var v in row) max = Math.Max(max, v);
        double sum = 0;
        foreach (var v in row) sum += Math.Exp(v - max);
        return Math.Log(sum) + max - row[label];
    }
}
