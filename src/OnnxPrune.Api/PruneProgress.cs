namespace OnnxPrune.Api;

/// <summary>What a pruning run is doing now.</summary>
/// <param name="Stage">The part of the run: "pruning", "pruning and timing", "pqi", or a CIE grid shard.</param>
/// <param name="Status">What that part is working on, in words (for example "scoring channels", "round 2 of 4: fine-tuning").</param>
public sealed record PruneProgress(string Stage, string Status)
{
    /// <summary>Units of the stage done (images, batches, grid cells), when the stage counts them; 0 otherwise.</summary>
    public long Done { get; init; }

    /// <summary>Units the stage will do in all, when it counts them; 0 when unknown (then only <see cref="Status"/> says how far it is).</summary>
    public long Total { get; init; }
}
