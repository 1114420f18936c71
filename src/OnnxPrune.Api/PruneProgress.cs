namespace OnnxPrune.Api;

/// <summary>What a pruning run is doing now.</summary>
/// <param name="Stage">The part of the run: "pruning", "pruning and timing", "pqi", or a CIE grid shard.</param>
/// <param name="Status">What that part is working on, in words (for example "scoring channels", "round 2 of 4: fine-tuning").</param>
public sealed record PruneProgress(string Stage, string Status);
