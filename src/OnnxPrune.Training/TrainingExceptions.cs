namespace OnnxPrune.Training;

/// <summary>The model or the data cannot be trained as given: no float input, data whose shape
/// does not fit the model's input, labels outside the model's classes, a checkpoint of another
/// model. The message says what and how to fix it.</summary>
internal class TrainingInputException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>The loss became NaN, infinite or exploded, again after every rollback allowed
/// (<see cref="DivergenceOptions.MaxRollbacks"/>): the learning rate is too high for this model and data.</summary>
internal sealed class TrainingDivergedException(string message) : Exception(message);
