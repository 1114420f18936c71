namespace OnnxPrune.Runtime;

/// <summary>How ORT should build and run a session. Immutable; use <c>with</c> to vary one setting.</summary>
internal sealed record SessionSettings
{
    public static SessionSettings Default { get; } = new();

    /// <summary>Threads inside one operator; 0: one per processor available to the process
    /// (<see cref="EffectiveIntraOpThreads"/>).</summary>
    public int IntraOpThreads { get; init; }

    /// <summary>
    /// The intra-op thread count given to ORT: <see cref="IntraOpThreads"/>, or for 0 one per
    /// processor this process may use. ORT's own default counts physical cores as it detects them
    /// and chose 1 on a 2-vCPU VM (AMD EPYC, Debian 12): `onnxprune train --arch resnet20` ran at
    /// 498 img/s there against 715 img/s with 2 threads.
    /// </summary>
    public int EffectiveIntraOpThreads => IntraOpThreads == 0 ? Environment.ProcessorCount : IntraOpThreads;

    /// <summary>Threads running independent operators at once; only used with
    /// <see cref="ParallelExecution"/>. 0 lets ORT choose.</summary>
    public int InterOpThreads { get; init; }

    /// <summary>Run independent branches of the graph concurrently (ORT_PARALLEL). Off by default
    /// because sequential execution is what latency measurements usually want.</summary>
    public bool ParallelExecution { get; init; }

    public GraphOptimizationLevel Optimization { get; init; } = GraphOptimizationLevel.All;

    /// <summary>Record ORT's per-node profile; read it with
    /// <see cref="InferenceSession.EndProfiling"/> or <see cref="InferenceSession.EndProfilingSummary"/>.</summary>
    public bool EnableProfiling { get; init; }

    /// <summary>Path prefix of the profile file (ORT appends a timestamp and ".json"). Null means
    /// a unique prefix in the temp directory, so concurrent sessions never share a file.</summary>
    public string? ProfileFilePrefix { get; init; }

    public ExecutionProvider Provider { get; init; } = ExecutionProvider.Cpu;

    /// <summary>Do not repack weights into the kernels' layouts when the session is built
    /// (ORT's session.disable_prepacking). Prepacking keeps a second copy of every Gemm/Conv weight;
    /// a one-off run of a big model (the post-write check) does not need the speed.</summary>
    public bool DisablePrepacking { get; init; }

    /// <summary>GPU ordinal for <see cref="ExecutionProvider.Cuda"/> and <see cref="ExecutionProvider.TensorRT"/>.</summary>
    public int CudaDeviceId { get; init; }

    /// <summary>Minimum severity of this session's log messages. Error by default: ORT's warnings
    /// (old opsets, initializers listed as inputs) are noise to a user of the command line.</summary>
    public OrtLoggingLevel LogSeverity { get; init; } = OrtLoggingLevel.Error;
}

/// <summary>ORT's GraphOptimizationLevel, same numbers as the C enum.</summary>
internal enum GraphOptimizationLevel
{
    Disable = 0,
    Basic = 1,
    Extended = 2,
    All = 99,
}

internal enum ExecutionProvider
{
    Cpu,
    /// <summary>NVIDIA CUDA; needs the GPU native package (Microsoft.ML.OnnxRuntime.Gpu), a device
    /// and the CUDA/cuDNN libraries. Nodes CUDA cannot run fall back to the CPU provider.</summary>
    Cuda,
    /// <summary>NVIDIA TensorRT, with CUDA and then the CPU provider behind it for the nodes
    /// TensorRT does not take; needs the TensorRT libraries besides CUDA's.</summary>
    TensorRT,
}
