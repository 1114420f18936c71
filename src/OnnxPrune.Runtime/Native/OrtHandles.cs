using System.Runtime.InteropServices;

namespace OnnxPrune.Runtime.Native;

/// <summary>
/// Owns one ORT object and releases it exactly once with the matching Release function, whether
/// through Dispose or, if the owner forgot, through the critical finalizer. A handle starts
/// empty; the creating code lets the ORT factory write into a local pointer, checks the status
/// and then calls <see cref="Attach"/>, so a failed factory leaves nothing to release.
/// </summary>
internal abstract unsafe class OrtHandle : SafeHandle
{
    protected OrtHandle(OrtApi api) : base(0, ownsHandle: true) => Api = api;

    protected OrtApi Api { get; }

    public override bool IsInvalid => handle == 0;

    /// <summary>Takes ownership of a pointer an ORT factory produced.</summary>
    public void Attach(nint pointer)
    {
        if (!IsInvalid) throw new InvalidOperationException("handle already owns an ORT object");
        SetHandle(pointer);
    }

    /// <summary>
    /// Keeps the object alive across a native call even if another thread disposes the handle
    /// meanwhile (the release then waits for the lease); throws ObjectDisposedException when the
    /// handle is already closed.
    /// </summary>
    public HandleLease Lease() => new(this);
}

/// <summary>Scope of a <see cref="SafeHandle.DangerousAddRef"/>; use with <c>using</c>.</summary>
internal ref struct HandleLease
{
    private readonly SafeHandle owner;
    private bool added;

    public HandleLease(SafeHandle owner)
    {
        this.owner = owner;
        owner.DangerousAddRef(ref added);
        Pointer = owner.DangerousGetHandle();
    }

    public nint Pointer { get; }

    public void Dispose()
    {
        if (!added) return;
        added = false;
        owner.DangerousRelease();
    }
}

internal sealed unsafe class EnvHandle(OrtApi api) : OrtHandle(api)
{
    protected override bool ReleaseHandle() { Api.ReleaseEnv(handle); return true; }
}

internal sealed unsafe class SessionOptionsHandle(OrtApi api) : OrtHandle(api)
{
    protected override bool ReleaseHandle() { Api.ReleaseSessionOptions(handle); return true; }
}

internal sealed unsafe class SessionHandle(OrtApi api) : OrtHandle(api)
{
    protected override bool ReleaseHandle() { Api.ReleaseSession(handle); return true; }
}

internal sealed unsafe class ValueHandle(OrtApi api) : OrtHandle(api)
{
    protected override bool ReleaseHandle() { Api.ReleaseValue(handle); return true; }
}

internal sealed unsafe class MemoryInfoHandle(OrtApi api) : OrtHandle(api)
{
    protected override bool ReleaseHandle() { Api.ReleaseMemoryInfo(handle); return true; }
}

internal sealed unsafe class RunOptionsHandle(OrtApi api) : OrtHandle(api)
{
    /// <summary>Asks runs using these options to stop; safe to call from another thread.</summary>
    public void RequestTerminate()
    {
        using var lease = Lease();
        Api.Check(Api.RunOptionsSetTerminate(lease.Pointer));
    }

    protected override bool ReleaseHandle() { Api.ReleaseRunOptions(handle); return true; }
}

internal sealed unsafe class TypeInfoHandle(OrtApi api) : OrtHandle(api)
{
    protected override bool ReleaseHandle() { Api.ReleaseTypeInfo(handle); return true; }
}

internal sealed unsafe class TensorTypeAndShapeInfoHandle(OrtApi api) : OrtHandle(api)
{
    protected override bool ReleaseHandle() { Api.ReleaseTensorTypeAndShapeInfo(handle); return true; }
}

internal sealed unsafe class CudaProviderOptionsHandle(OrtApi api) : OrtHandle(api)
{
    protected override bool ReleaseHandle() { Api.ReleaseCUDAProviderOptions(handle); return true; }
}

internal static class OrtHandleExtensions
{
    /// <summary><c>new SessionHandle(api).Owning(raw)</c>: wraps a pointer a factory just produced.</summary>
    public static THandle Owning<THandle>(this THandle handle, nint pointer) where THandle : OrtHandle
    {
        handle.Attach(pointer);
        return handle;
    }
}
