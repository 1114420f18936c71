using OnnxPrune.IR;
using OnnxPrune.Runtime;

namespace OnnxPrune.Tests.Runtime;

/// <summary>Runs alone (xunit runs collections without parallelization after all others): the
/// counts of live native handles are process-wide, so another test's session would move them.</summary>
[CollectionDefinition(nameof(SerialRuntimeCollection), DisableParallelization = true)]
public sealed class SerialRuntimeCollection;

/// <summary>
/// Every session, OrtValue and pinned input array the binding creates must be released again:
/// by Dispose, and by the finalizer when a caller forgot. Counting live handles says so exactly,
/// whatever the GC and the allocator do with memory. One check reads native memory, inside a
/// no-GC region where no finalizer can tidy up, so only explicit release keeps it flat.
/// </summary>
[Collection(nameof(SerialRuntimeCollection))]
public class LeakTests
{
    private const int Floats = 1 << 18; // 1 MiB per tensor

    private static OrtRuntime Runtime => OrtTestLibrary.Runtime;

    private static (long Sessions, long Values, long Pins) Live()
    {
        for (var i = 0; i < 2; i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }
        return (NativeHandles.LiveSessions, NativeHandles.LiveValues, NativeHandles.PinnedArrays);
    }

    [Fact]
    public void Runs_release_every_input_wrapper_pin_and_output()
    {
        using var session = InferenceSession.FromBytes(TinyModel.Identity(DataType.Float, (long)Floats), runtime: Runtime);
        var before = Live();
        for (var i = 0; i < 200; i++)
        {
            var x = new float[Floats];
            x[^1] = i;
            var y = session.Run(new Dictionary<string, TensorData> { ["x"] = TensorData.Create(x, Floats) })["y"].As<float>();
            y[^1].Should().Be(i);
            // Counted without a collection: Run itself must have released what it created.
            (NativeHandles.LiveValues, NativeHandles.PinnedArrays).Should().Be((before.Values, before.Pins));
        }
        Live().Should().Be(before);
    }

    [Fact]
    public void A_failed_run_releases_what_it_had_created()
    {
        using var session = InferenceSession.FromBytes(TinyModel.Identity(DataType.Float, 4L), runtime: Runtime);
        var before = Live();
        var wrongShape = new Dictionary<string, TensorData> { ["x"] = TensorData.Create(new float[3], 3) };
        for (var i = 0; i < 10; i++) ((Action)(() => session.Run(wrongShape))).Should().Throw<OrtException>();
        (NativeHandles.LiveValues, NativeHandles.PinnedArrays).Should().Be((before.Values, before.Pins));
    }

    [Fact]
    public void Benchmark_runs_release_their_outputs_at_once()
    {
        using var session = InferenceSession.FromBytes(TinyModel.Identity(DataType.Float, (long)Floats), runtime: Runtime);
        var inputs = new Dictionary<string, TensorData> { ["x"] = TensorData.Create(new float[Floats], Floats) };
        var before = Live();
        LatencyBenchmark.Measure(session, inputs, warmupRuns: 3, timedRuns: 50);
        (NativeHandles.LiveValues, NativeHandles.PinnedArrays).Should().Be((before.Values, before.Pins));
    }

    [Fact]
    public void Disposed_sessions_are_released_and_counted_once()
    {
        var bytes = TinyModel.Identity(DataType.Float, 4L);
        var before = Live();
        var sessions = Enumerable.Range(0, 20).Select(_ => InferenceSession.FromBytes(bytes, runtime: Runtime)).ToList();
        NativeHandles.LiveSessions.Should().Be(before.Sessions + 20);
        foreach (var s in sessions)
        {
            s.Dispose();
            s.Dispose(); // a second Dispose must not count twice
        }
        NativeHandles.LiveSessions.Should().Be(before.Sessions);
        Live().Should().Be(before);
    }

    [Fact]
    public void Sessions_nobody_disposed_are_released_by_the_finalizer()
    {
        var bytes = TinyModel.Identity(DataType.Float, 4L);
        var before = Live();
        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
        static void Abandon(byte[] model)
        {
            var session = InferenceSession.FromBytes(model, runtime: Runtime);
            session.Run(new Dictionary<string, TensorData> { ["x"] = TensorData.Create(new float[4], 4) });
        }
        for (var i = 0; i < 20; i++) Abandon(bytes);
        NativeHandles.LiveSessions.Should().BeGreaterThan(before.Sessions, "nothing collected them yet");
        Live().Should().Be(before);
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
}
