using OnnxPrune.IR;
using OnnxPrune.Runtime;
using OnnxPrune.Training;
using OnnxPrune.Training.Data;

namespace OnnxPrune.Pruning.Loop;

/// <summary>
/// The main job's fine-tuning and evaluation on labelled data: SGD (momentum 0.9, weight decay 5e-4, cosine
/// to 0, batch 128) on the training images, top-1 on the test split, BatchNormalization re-inserted where an
/// export folded it (and folded back on export, METHODS.md §7), and, when a teacher is given, a distillation
/// term to the original's outputs. No augmentation: on the bundled ResNet-56 one epoch after pruning reached
/// 93.04% without it against 92.65% with crop and flip (docs/saliency-comparison.md): a short fine-tune
/// repairs the pruned function rather than regularising a new one.
/// </summary>
internal sealed class FineTuneRounds(Dataset train, Dataset test, ChannelNormalization normalization, double learningRate, int seed,
    Model? teacher, SessionSettings session, TextWriter? log = null, Action<string, TrainingProgress>? progress = null) : IRoundTrainer
{
    public int TestCount => test.Count;

    public Model FineTune(Model model, int epochs, string label, CancellationToken cancel = default)
    {
        var options = new TrainerOptions
        {
            Epochs = epochs,
            BatchSize = 128,
            Seed = seed,
            Sgd = new SgdOptions(learningRate, 0.9, false, 5e-4),
            Schedule = new CosineSchedule(),
            Augmentation = Augmentation.None,
            Normalization = normalization,
            InputSampleDims = [train.Channels, train.Height, train.Width],
            EvaluateEveryEpoch = false,
            Session = session,
            Distillation = teacher is null ? null : new DistillationOptions { Teacher = teacher },
        };
        var request = new FineTuneRequest(train, test)
        {
            MeasureBefore = false,
            Progress = progress is null ? null : p => progress(label, p),
            Started = s => { if (s.InsertedBatchNorms > 0) log?.WriteLine($"{label}: inserted {s.InsertedBatchNorms} BatchNormalization node(s) for fine-tuning (folded back on export)"); },
            RolledBack = r => log?.WriteLine($"{label}: {r.Reason}; rolled back and halved the learning rate"),
            EpochDone = e => log?.WriteLine($"{label}: epoch {e.Epoch}/{epochs}: loss {e.TrainLoss:0.0000}, train top-1 {e.TrainAccuracy * 100:0.00}%, {e.Seconds:0.0} s"),
        };
        return FineTuning.Run(model, request, options, cancel).Model;
    }

    public double Evaluate(Model model) => ClassifierEvaluation.Evaluate(model, test, normalization, session).Accuracy;
}
