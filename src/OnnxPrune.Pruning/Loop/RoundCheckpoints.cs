using System.Security.Cryptography;
using System.Text.Json;
using OnnxPrune.Onnx;
using OnnxPrune.Pruning.Pipeline;

namespace OnnxPrune.Pruning.Loop;

/// <summary>
/// `--resume DIR`: after every accepted round, the round's model (round-N.onnx) and the loop's state
/// (state.json: the rounds so far, the notes, which input and settings they belong to) are written there,
/// each atomically (temporary file, then rename), so a run stopped at any moment leaves a consistent folder.
/// A run given a folder with a state of the same input and settings continues after its last saved round;
/// one of another input or other settings is refused rather than mixed in.
/// </summary>
internal sealed class RoundCheckpoints(string directory, byte[] original, ObjectiveOptions options)
{
    private const string StateFile = "state.json";

    private sealed record State(string Input, string Settings, int Round, string Model, List<RoundRecord> Rounds, List<string> Notes);

    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    private string InputHash { get; } = Convert.ToHexStringLower(SHA256.HashData(original));

    /// <summary>What decides the rounds: a checkpoint made with other values of these is not this run's.</summary>
    private string Settings { get; } = string.Join(";", options.Latency, options.MaxSizeBytes, options.MaxAccuracyDrop, options.Rounds, options.FinetuneEpochs,
        options.Prune.Criterion, options.Prune.Allocation, options.Prune.Seed, options.Prune.Recover, options.Batch,
        string.Join(",", options.Prune.Target.Parts.Select(p => p.ToString())), options.Prune.Calibration?.Images.Count);

    /// <summary>
    /// The last saved round at or before <paramref name="atMost"/> and its model; fills <paramref name="rounds"/> and
    /// <paramref name="notes"/> with the saved ones. Null when the folder holds no state yet.
    /// </summary>
    public (int Round, byte[] Bytes)? Resume(List<RoundRecord> rounds, List<string> notes, int atMost)
    {
        var path = Path.Combine(directory, StateFile);
        if (!File.Exists(path)) return null;
        State state;
        try { state = JsonSerializer.Deserialize<State>(File.ReadAllText(path), Json) ?? throw new JsonException("empty"); }
        catch (JsonException e) { throw Refuse($"its {StateFile} cannot be read ({e.Message})"); }
        if (state.Input != InputHash) throw Refuse("it holds the rounds of another input model");
        if (state.Settings != Settings) throw Refuse("it holds the rounds of a run with other objectives or settings");
        int round = Math.Min(state.Round, atMost);
        byte[] bytes = round == 0 ? original : File.ReadAllBytes(Path.Combine(directory, ModelName(round)));
        rounds.AddRange(state.Rounds.Where(r => r.Round <= round));
        notes.AddRange(state.Notes);
        return (round, bytes);
    }

    public void Save(int round, byte[] model, IReadOnlyList<RoundRecord> rounds, IReadOnlyList<string> notes)
    {
        Directory.CreateDirectory(directory);
        AtomicFile.WriteAllBytes(Path.Combine(directory, ModelName(round)), model);
        var state = new State(InputHash, Settings, round, ModelName(round), rounds.ToList(), notes.ToList());
        AtomicFile.WriteAllBytes(Path.Combine(directory, StateFile), JsonSerializer.SerializeToUtf8Bytes(state, Json));
    }

    private static string ModelName(int round) => $"round-{round}.onnx";

    private PruneInputException Refuse(string why) =>
        new(PruneInputProblem.BadTarget, $"--resume {directory}: {why}; give an empty folder to start a new run there");
}
