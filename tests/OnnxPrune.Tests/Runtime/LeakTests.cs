using System.Diagnostics;
using OnnxPrune.IR;
using OnnxPrune.Runtime;

namespace OnnxPrune.Tests.Runtime;

/// <summary>Runs alone: it reads the process's resident memory, which parallel tests would disturb.</summary>
[CollectionDefinition(nameof(SerialRuntimeCollection), DisableParallelization = true)]
public sealed class SerialRuntimeCollection;

/// <summary>
/// Each iteration moves megabytes through native memory, so a leaked output OrtValue, a leaked
/// input pin (which keeps the input array alive) or a leaked session shows up as hundreds of
/// megabytes of growth, far above allocator noise.
/// </summary>
[Collection(nameof(SerialRuntimeCollection))]
public class LeakTests
{
    private const long AllowedGrowth = 200L << 20;
    private const int Floats = 1 << 18; // 1 MiB per tensor

    private static OrtRuntime Runtime => OrtTestLibrary.Runtime;

    [Fact]
    public void A_thousand_runs_release_inputs_and_outputs()
    {
        using var session = InferenceSession.FromBytes(TinyModel.Identity(DataType.Float, (long)Floats), runtime: Runtime);
        void RunOnce(int i)
        {
            var x = new float[Floats];
            x[^1] = i;
            var y = session.Run(new Dictionary<string, TensorData> { ["x"] = TensorData.Create(x, Floats) })["y"].As<float>();
            if (y[^1] != i) throw new InvalidOperationException($"run {i} returned {y[^1]}");
        }

        for (var i = 0; i < 50; i++) RunOnce(i);
        var before = ResidentBytes();
        for (var i = 0; i < 1000; i++) RunOnce(i);
        (ResidentBytes() - before).Should().BeLessThan(AllowedGrowth);
    }

    [Fact]
    public void Run_releases_its_native_outputs_at_once_not_at_the_next_collection()
    {
        // Inside a no-GC region no finalizer can tidy up after a missed Dispose, and malloc's
        // count excludes the managed heap, so growth here is native memory Run kept.
        // Neg, not Identity: ORT's Identity may hand back the input buffer instead of allocating.
        const int big = 4 * Floats;
        var model = new TinyModel().Input("x", DataType.Float, (long)big).Output("y", DataType.Float, (long)big)
            .Node("Neg", ["x"], ["y"]).Build();
        using var session = InferenceSession.FromBytes(model, runtime: Runtime);
        var inputs = new Dictionary<string, TensorData> { ["x"] = TensorData.Create(new float[big], big) };
        for (var i = 0; i < 5; i++) session.Run(inputs);

        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.TryStartNoGCRegion(240L << 20).Should().BeTrue();
        long growth;
        try
        {
            var before = NativeHeapBytes();
            for (var i = 0; i < 32; i++) session.Run(inputs); // 32 x 4 MiB outputs
            growth = NativeHeapBytes() - before;
        }
        finally
        {
            if (System.Runtime.GCSettings.LatencyMode == System.Runtime.GCLatencyMode.NoGCRegion) GC.EndNoGCRegion();
        }
        growth.Should().BeLessThan(16L << 20);
    }

    [Fact]
    public void Benchmark_runs_release_outputs_at_once_not_at_the_next_collection()
    {
        // The benchmark allocates almost nothing managed, so no GC (and no finalizer) runs during
        // these 100 runs: only explicit disposal keeps the 8 MiB outputs from piling up.
        const int big = 8 * Floats;
        using var session = InferenceSession.FromBytes(TinyModel.Identity(DataType.Float, (long)big), runtime: Runtime);
        var inputs = new Dictionary<string, TensorData> { ["x"] = TensorData.Create(new float[big], big) };
        LatencyBenchmark.Measure(session, inputs, warmupRuns: 5, timedRuns: 1);
        var before = ResidentBytes();
        LatencyBenchmark.Measure(session, inputs, warmupRuns: 0, timedRuns: 100);
        (ResidentBytes(collect: false) - before).Should().BeLessThan(AllowedGrowth);
    }

    [Fact]
    public void Created_and_disposed_sessions_release_their_weights()
    {
        // 8 MiB of weights per session.
        var bytes = new TinyModel()
            .Input("x", DataType.Float, (long)Floats).Output("y", DataType.Float, 8L, Floats)
            .Initializer("w", new float[8 * Floats], 8, Floats)
            .Node("Add", ["x", "w"], ["y"]).Build();

        for (var i = 0; i < 5; i++) InferenceSession.FromBytes(bytes, runtime: Runtime).Dispose();
        var before = ResidentBytes();
        for (var i = 0; i < 100; i++) InferenceSession.FromBytes(bytes, runtime: Runtime).Dispose();
        (ResidentBytes() - before).Should().BeLessThan(AllowedGrowth);
    }

    [Fact]
    public void Sessions_nobody_disposed_are_released_by_the_finalizer()
    {
        var bytes = TinyModel.Identity(DataType.Float, (long)Floats);
        static void Abandon(byte[] model)
        {
            var session = InferenceSession.FromBytes(model, runtime: Runtime);
            session.Run(new Dictionary<string, TensorData> { ["x"] = TensorData.Create(new float[Floats], Floats) });
        }
        for (var i = 0; i < 10; i++) Abandon(bytes);
        var before = ResidentBytes();
        for (var i = 0; i < 200; i++) Abandon(bytes);
        (ResidentBytes() - before).Should().BeLessThan(AllowedGrowth);
    }

    /// <summary>Bytes glibc's malloc has handed out (arena plus mmapped blocks): ORT's heap,
    /// not the managed one.</summary>
    private static long NativeHeapBytes()
    {
        var info = MallInfo2();
        return (long)(info.Uordblks + info.Hblkhd);
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "mallinfo2")]
    private static extern MallInfo MallInfo2();

    [System.Runtime.InteropServices.StructLayout(System.Runtime.InteropServices.LayoutKind.Sequential)]
    private struct MallInfo
    {
        public nuint Arena, Ordblks, Smblks, Hblks, Hblkhd, Usmblks, Fsmblks, Uordblks, Fordblks, Keepcost;
    }

    /// <summary>Native resident memory plus live managed bytes. The GC keeps freed heap committed
    /// (and so resident) after a collection, which says nothing about leaks; what a leak grows is
    /// native memory (unreleased OrtValues, sessions) or live managed objects (arrays kept pinned).</summary>
    private static long ResidentBytes(bool collect = true)
    {
        for (var i = 0; collect && i < 2; i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }
        using var self = Process.GetCurrentProcess();
        var committed = GC.GetGCMemoryInfo().TotalCommittedBytes;
        return self.WorkingSet64 - committed + GC.GetTotalMemory(forceFullCollection: false);
    }
}
