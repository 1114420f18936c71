using System.Diagnostics;
using OnnxPrune.IR;
using OnnxPrune.Runtime;
using OnnxPrune.Training.Data;

namespace OnnxPrune.Training;

/// <summary>
/// The teacher of <see cref="DistillationOptions"/> in its own ONNX Runtime session: run once per
/// training step on the student's batch, its logits fed to the training graph. Keeps the time it
/// spends so an epoch can report it.
/// </summary>
internal sealed class DistillationTeacher : IDisposable
{
    private readonly InferenceSession _session;
    private readonly ClassifierSignature _signature;
    private readonly string[] _fetch;
    private readonly Dictionary<string, TensorData> _feeds = new(StringComparer.Ordinal);
    private readonly Stopwatch _clock = new();

    /// <exception cref="TrainingInputException">The teacher is not a classifier, has a fixed batch
    /// other than <paramref name="batchSize"/>, or declares another class count than the student.</exception>
    public DistillationTeacher(DistillationOptions options, SessionSettings session, int batchSize, ClassifierSignature student)
    {
        try { _signature = ClassifierSignature.Of(options.Teacher); }
        catch (TrainingInputException e) { throw new TrainingInputException($"the distillation teacher: {e.Message}", e); }
        if (_signature.FixedBatch is { } fixedBatch && fixedBatch != batchSize)
            throw new TrainingInputException($"the distillation teacher's input '{_signature.InputName}' has a fixed batch size of {fixedBatch}, but training feeds batches of {batchSize}");
        if (_signature.ClassCount is { } teacherClasses && student.ClassCount is { } studentClasses && teacherClasses != studentClasses)
            throw Mismatch(batchSize, teacherClasses, studentClasses, student);
        var model = options.Teacher;
        if (_signature.LogitsName != _signature.OutputName)
        {
            // The teacher ends in Softmax: its logits (the Softmax input) become an output, since the
            // soft targets are a softmax of logits / T, not of probabilities.
            model = model.Clone();
            var logits = model.Graph.Nodes.SelectMany(n => n.Outputs).First(v => v.Name == _signature.LogitsName);
            model.Graph.AddOutput(logits);
        }
        _fetch = [_signature.LogitsName];
        _session = InferenceSession.FromModel(model, session);
    }

    /// <summary>Wall time of every <see cref="Run"/> so far.</summary>
    public double Seconds => _clock.Elapsed.TotalSeconds;

    /// <summary>The teacher's logits for <paramref name="images"/> (a batch of <paramref name="data"/>'s
    /// images as fed to the student), checked against the student's [batch, <paramref name="classes"/>].</summary>
    /// <exception cref="TrainingInputException">The teacher's logits have another shape.</exception>
    public TensorData Run(float[] images, int batch, Dataset data, int? classes, ClassifierSignature student)
    {
        var dims = _signature.BatchDims(batch, data);
        if (!_feeds.TryGetValue(_signature.InputName, out var feed) || !ReferenceEquals(feed.As<float>(), images) || !feed.Dims.SequenceEqual(dims))
            _feeds[_signature.InputName] = TensorData.Create(images, dims);
        _clock.Start();
        var logits = _session.Run(_feeds, _fetch)[_signature.LogitsName];
        _clock.Stop();
        if (logits.Dims.Count != 2 || logits.Dims[0] != batch || (classes is { } k && logits.Dims[1] != k))
            throw new TrainingInputException(
                $"the distillation teacher's output '{_signature.LogitsName}' has shape [{string.Join(",", logits.Dims)}] but the student's logits '{student.LogitsName}' " +
                $"have shape [{batch},{classes?.ToString() ?? "?"}]: the teacher must score the student's classes");
        return logits;
    }

    private TrainingInputException Mismatch(int batch, int teacherClasses, int studentClasses, ClassifierSignature student) => new(
        $"the distillation teacher's output '{_signature.LogitsName}' has shape [{batch},{teacherClasses}] but the student's logits '{student.LogitsName}' " +
        $"have shape [{batch},{studentClasses}]: the teacher must score the student's classes");

    public void Dispose() => _session.Dispose();
}
