namespace OnnxPrune.Pruning.Loop;

/// <summary>
/// What the main job's rounds ask of training: fine-tune a pruned model (distilling from the original when
/// the caller turned that on) and measure top-1 accuracy on the data's test split, which neither the original's
/// training nor the fine-tuning sees (a split of the training images would flatter the original, which learnt them).
/// The command line builds one from --data; tests can give a cheap one.
/// </summary>
internal interface IRoundTrainer
{
    /// <summary>The model after <paramref name="epochs"/> epochs of fine-tuning (a new model; the input is not changed).</summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancel"/> fired (checked between steps).</exception>
    IR.Model FineTune(IR.Model model, int epochs, string label, CancellationToken cancel = default);

    /// <summary>Top-1 accuracy in [0, 1] on the test split.</summary>
    double Evaluate(IR.Model model);
}
