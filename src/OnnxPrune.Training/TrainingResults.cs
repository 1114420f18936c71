namespace OnnxPrune.Training;

/// <summary>Top-1 accuracy and mean cross-entropy of a model on a data set.</summary>
/// <param name="Accuracy">Fraction of samples whose highest score is the label, in [0, 1].</param>
/// <param name="Loss">Mean softmax cross-entropy (natural log).</param>
/// <param name="Count">Samples evaluated.</param>
/// <param name="Seconds">Wall time of the evaluation.</param>
internal sealed record EvaluationResult(double Accuracy, double Loss, int Count, double Seconds);

/// <summary>One finished epoch.</summary>
/// <param name="Epoch">1-based.</param>
/// <param name="TrainLoss">Mean loss over the epoch's batches (batch statistics, augmented data).</param>
/// <param name="TrainAccuracy">Top-1 accuracy over the epoch's batches, as trained.</param>
/// <param name="LearningRate">The rate of the epoch's last step.</param>
/// <param name="ImagesPerSecond">Training throughput of the epoch (steps only, without evaluation).</param>
/// <param name="Seconds">Wall time of the epoch's training steps.</param>
/// <param name="Validation">Evaluation after the epoch, when there was one.</param>
/// <param name="TeacherSeconds">Of <paramref name="Seconds"/>, the time spent running the distillation
/// teacher (0 without one).</param>
internal sealed record EpochResult(int Epoch, double TrainLoss, double TrainAccuracy, double LearningRate,
    double ImagesPerSecond, double Seconds, EvaluationResult? Validation, double TeacherSeconds = 0);

/// <summary>Where training is, for a progress display (reported after every step).</summary>
/// <param name="Epoch">1-based epoch in progress.</param>
/// <param name="Epochs">Epochs in total.</param>
/// <param name="Batch">Batches done in this epoch.</param>
/// <param name="BatchesPerEpoch">Batches in one epoch.</param>
/// <param name="Loss">Mean loss of this epoch's batches so far.</param>
/// <param name="Accuracy">Training accuracy of this epoch's batches so far.</param>
/// <param name="ImagesPerSecond">This epoch's training throughput so far.</param>
/// <param name="LearningRate">The current rate.</param>
internal sealed record TrainingProgress(int Epoch, int Epochs, int Batch, int BatchesPerEpoch, double Loss, double Accuracy,
    double ImagesPerSecond, double LearningRate);
