namespace OnnxPrune.Runtime;

/// <summary>
/// Counts the ONNX Runtime objects this binding holds at this moment: sessions, OrtValues (input
/// wrappers and outputs not yet copied out) and pinned input arrays. Every one of them must be
/// released by Dispose, or by the finalizer when a caller forgot; the leak tests check that the
/// counts return to where they were, which a bound on resident memory cannot tell reliably.
/// </summary>
internal static class NativeHandles
{
    private static long sessions, values, pins;

    public static long LiveSessions => Interlocked.Read(ref sessions);
    public static long LiveValues => Interlocked.Read(ref values);
    public static long PinnedArrays => Interlocked.Read(ref pins);

    internal static void SessionCreated() => Interlocked.Increment(ref sessions);
    internal static void SessionReleased() => Interlocked.Decrement(ref sessions);
    internal static void ValueCreated() => Interlocked.Increment(ref values);
    internal static void ValueReleased() => Interlocked.Decrement(ref values);
    internal static void Pinned() => Interlocked.Increment(ref pins);
    internal static void Unpinned() => Interlocked.Decrement(ref pins);
}
