using System.Runtime.InteropServices;

namespace OnnxPrune.Runtime.Native;

/// <summary>
/// The subset of ONNX Runtime's <c>OrtApi</c> function table that this binding calls, read once
/// from the table that <c>OrtApiBase::GetApi</c> returned. Slot numbers come from
/// <c>ort-c-api-slots.txt</c> (the struct's declaration order); the table is append-only across
/// ORT versions, so a slot never changes meaning. Every opaque ORT pointer is an <see cref="nint"/>
/// and every C string a <c>byte*</c> (UTF-8, since ORTCHAR_T is char on Linux).
/// Functions that return <c>OrtStatus*</c> must have their result passed to <see cref="Check"/>.
/// </summary>
internal sealed unsafe class OrtApi
{
    public readonly delegate* unmanaged[Cdecl]<nint, OrtErrorCode> GetErrorCode;
    public readonly delegate* unmanaged[Cdecl]<nint, byte*> GetErrorMessage;
    public readonly delegate* unmanaged[Cdecl]<int, byte*, nint*, nint> CreateEnv;
    public readonly delegate* unmanaged[Cdecl]<nint, byte*, nint, nint*, nint> CreateSession;
    public readonly delegate* unmanaged[Cdecl]<nint, void*, nuint, nint, nint*, nint> CreateSessionFromArray;
    public readonly delegate* unmanaged[Cdecl]<nint, nint, byte**, nint*, nuint, byte**, nuint, nint*, nint> Run;
    public readonly delegate* unmanaged[Cdecl]<nint*, nint> CreateSessionOptions;
    public readonly delegate* unmanaged[Cdecl]<nint, int, nint> SetSessionExecutionMode;
    public readonly delegate* unmanaged[Cdecl]<nint, byte*, nint> EnableProfiling;
    public readonly delegate* unmanaged[Cdecl]<nint, int, nint> SetSessionLogSeverityLevel;
    public readonly delegate* unmanaged[Cdecl]<nint, int, nint> SetSessionGraphOptimizationLevel;
    public readonly delegate* unmanaged[Cdecl]<nint, int, nint> SetIntraOpNumThreads;
    public readonly delegate* unmanaged[Cdecl]<nint, int, nint> SetInterOpNumThreads;
    public readonly delegate* unmanaged[Cdecl]<nint, nuint*, nint> SessionGetInputCount;
    public readonly delegate* unmanaged[Cdecl]<nint, nuint*, nint> SessionGetOutputCount;
    public readonly delegate* unmanaged[Cdecl]<nint, nuint, nint*, nint> SessionGetInputTypeInfo;
    public readonly delegate* unmanaged[Cdecl]<nint, nuint, nint*, nint> SessionGetOutputTypeInfo;
    public readonly delegate* unmanaged[Cdecl]<nint, nuint, nint, byte**, nint> SessionGetInputName;
    public readonly delegate* unmanaged[Cdecl]<nint, nuint, nint, byte**, nint> SessionGetOutputName;
    public readonly delegate* unmanaged[Cdecl]<nint*, nint> CreateRunOptions;
    public readonly delegate* unmanaged[Cdecl]<nint, nint> RunOptionsSetTerminate;
    public readonly delegate* unmanaged[Cdecl]<nint, void*, nuint, long*, nuint, int, nint*, nint> CreateTensorWithDataAsOrtValue;
    public readonly delegate* unmanaged[Cdecl]<nint, void**, nint> GetTensorMutableData;
    public readonly delegate* unmanaged[Cdecl]<nint, nint*, nint> CastTypeInfoToTensorInfo;
    public readonly delegate* unmanaged[Cdecl]<nint, int*, nint> GetOnnxTypeFromTypeInfo;
    public readonly delegate* unmanaged[Cdecl]<nint, int*, nint> GetTensorElementType;
    public readonly delegate* unmanaged[Cdecl]<nint, nuint*, nint> GetDimensionsCount;
    public readonly delegate* unmanaged[Cdecl]<nint, long*, nuint, nint> GetDimensions;
    public readonly delegate* unmanaged[Cdecl]<nint, byte**, nuint, nint> GetSymbolicDimensions;
    public readonly delegate* unmanaged[Cdecl]<nint, nuint*, nint> GetTensorShapeElementCount;
    public readonly delegate* unmanaged[Cdecl]<nint, nint*, nint> GetTensorTypeAndShape;
    public readonly delegate* unmanaged[Cdecl]<nint, int*, nint> GetValueType;
    public readonly delegate* unmanaged[Cdecl]<int, int, nint*, nint> CreateCpuMemoryInfo;
    public readonly delegate* unmanaged[Cdecl]<nint, void*, nint> AllocatorFree;
    public readonly delegate* unmanaged[Cdecl]<nint*, nint> GetAllocatorWithDefaultOptions;
    public readonly delegate* unmanaged[Cdecl]<nint, void> ReleaseEnv;
    public readonly delegate* unmanaged[Cdecl]<nint, void> ReleaseStatus;
    public readonly delegate* unmanaged[Cdecl]<nint, void> ReleaseMemoryInfo;
    public readonly delegate* unmanaged[Cdecl]<nint, void> ReleaseSession;
    public readonly delegate* unmanaged[Cdecl]<nint, void> ReleaseValue;
    public readonly delegate* unmanaged[Cdecl]<nint, void> ReleaseRunOptions;
    public readonly delegate* unmanaged[Cdecl]<nint, void> ReleaseTypeInfo;
    public readonly delegate* unmanaged[Cdecl]<nint, void> ReleaseTensorTypeAndShapeInfo;
    public readonly delegate* unmanaged[Cdecl]<nint, void> ReleaseSessionOptions;
    public readonly delegate* unmanaged[Cdecl]<nint, nint, byte**, nint> SessionEndProfiling;
    public readonly delegate* unmanaged[Cdecl]<byte***, int*, nint> GetAvailableProviders;
    public readonly delegate* unmanaged[Cdecl]<byte**, int, nint> ReleaseAvailableProviders;
    public readonly delegate* unmanaged[Cdecl]<nint, nint, nint> SessionOptionsAppendExecutionProvider_CUDA_V2;
    public readonly delegate* unmanaged[Cdecl]<nint*, nint> CreateCUDAProviderOptions;
    public readonly delegate* unmanaged[Cdecl]<nint, byte**, byte**, nuint, nint> UpdateCUDAProviderOptions;
    public readonly delegate* unmanaged[Cdecl]<nint, void> ReleaseCUDAProviderOptions;

    /// <param name="table">The <c>const OrtApi*</c> returned by GetApi; must not be null.</param>
    public OrtApi(nint table)
    {
        var slots = (nint*)table;
        GetErrorCode = (delegate* unmanaged[Cdecl]<nint, OrtErrorCode>)slots[1];
        GetErrorMessage = (delegate* unmanaged[Cdecl]<nint, byte*>)slots[2];
        CreateEnv = (delegate* unmanaged[Cdecl]<int, byte*, nint*, nint>)slots[3];
        CreateSession = (delegate* unmanaged[Cdecl]<nint, byte*, nint, nint*, nint>)slots[7];
        CreateSessionFromArray = (delegate* unmanaged[Cdecl]<nint, void*, nuint, nint, nint*, nint>)slots[8];
        Run = (delegate* unmanaged[Cdecl]<nint, nint, byte**, nint*, nuint, byte**, nuint, nint*, nint>)slots[9];
        CreateSessionOptions = (delegate* unmanaged[Cdecl]<nint*, nint>)slots[10];
        SetSessionExecutionMode = (delegate* unmanaged[Cdecl]<nint, int, nint>)slots[13];
        EnableProfiling = (delegate* unmanaged[Cdecl]<nint, byte*, nint>)slots[14];
        SetSessionLogSeverityLevel = (delegate* unmanaged[Cdecl]<nint, int, nint>)slots[22];
        SetSessionGraphOptimizationLevel = (delegate* unmanaged[Cdecl]<nint, int, nint>)slots[23];
        SetIntraOpNumThreads = (delegate* unmanaged[Cdecl]<nint, int, nint>)slots[24];
        SetInterOpNumThreads = (delegate* unmanaged[Cdecl]<nint, int, nint>)slots[25];
        SessionGetInputCount = (delegate* unmanaged[Cdecl]<nint, nuint*, nint>)slots[30];
        SessionGetOutputCount = (delegate* unmanaged[Cdecl]<nint, nuint*, nint>)slots[31];
        SessionGetInputTypeInfo = (delegate* unmanaged[Cdecl]<nint, nuint, nint*, nint>)slots[33];
        SessionGetOutputTypeInfo = (delegate* unmanaged[Cdecl]<nint, nuint, nint*, nint>)slots[34];
        SessionGetInputName = (delegate* unmanaged[Cdecl]<nint, nuint, nint, byte**, nint>)slots[36];
        SessionGetOutputName = (delegate* unmanaged[Cdecl]<nint, nuint, nint, byte**, nint>)slots[37];
        CreateRunOptions = (delegate* unmanaged[Cdecl]<nint*, nint>)slots[39];
        RunOptionsSetTerminate = (delegate* unmanaged[Cdecl]<nint, nint>)slots[46];
        CreateTensorWithDataAsOrtValue = (delegate* unmanaged[Cdecl]<nint, void*, nuint, long*, nuint, int, nint*, nint>)slots[49];
        GetTensorMutableData = (delegate* unmanaged[Cdecl]<nint, void**, nint>)slots[51];
        CastTypeInfoToTensorInfo = (delegate* unmanaged[Cdecl]<nint, nint*, nint>)slots[55];
        GetOnnxTypeFromTypeInfo = (delegate* unmanaged[Cdecl]<nint, int*, nint>)slots[56];
        GetTensorElementType = (delegate* unmanaged[Cdecl]<nint, int*, nint>)slots[60];
        GetDimensionsCount = (delegate* unmanaged[Cdecl]<nint, nuint*, nint>)slots[61];
        GetDimensions = (delegate* unmanaged[Cdecl]<nint, long*, nuint, nint>)slots[62];
        GetSymbolicDimensions = (delegate* unmanaged[Cdecl]<nint, byte**, nuint, nint>)slots[63];
        GetTensorShapeElementCount = (delegate* unmanaged[Cdecl]<nint, nuint*, nint>)slots[64];
        GetTensorTypeAndShape = (delegate* unmanaged[Cdecl]<nint, nint*, nint>)slots[65];
        GetValueType = (delegate* unmanaged[Cdecl]<nint, int*, nint>)slots[67];
        CreateCpuMemoryInfo = (delegate* unmanaged[Cdecl]<int, int, nint*, nint>)slots[69];
        AllocatorFree = (delegate* unmanaged[Cdecl]<nint, void*, nint>)slots[76];
        GetAllocatorWithDefaultOptions = (delegate* unmanaged[Cdecl]<nint*, nint>)slots[78];
        ReleaseEnv = (delegate* unmanaged[Cdecl]<nint, void>)slots[92];
        ReleaseStatus = (delegate* unmanaged[Cdecl]<nint, void>)slots[93];
        ReleaseMemoryInfo = (delegate* unmanaged[Cdecl]<nint, void>)slots[94];
        ReleaseSession = (delegate* unmanaged[Cdecl]<nint, void>)slots[95];
        ReleaseValue = (delegate* unmanaged[Cdecl]<nint, void>)slots[96];
        ReleaseRunOptions = (delegate* unmanaged[Cdecl]<nint, void>)slots[97];
        ReleaseTypeInfo = (delegate* unmanaged[Cdecl]<nint, void>)slots[98];
        ReleaseTensorTypeAndShapeInfo = (delegate* unmanaged[Cdecl]<nint, void>)slots[99];
        ReleaseSessionOptions = (delegate* unmanaged[Cdecl]<nint, void>)slots[100];
        SessionEndProfiling = (delegate* unmanaged[Cdecl]<nint, nint, byte**, nint>)slots[110];
        GetAvailableProviders = (delegate* unmanaged[Cdecl]<byte***, int*, nint>)slots[125];
        ReleaseAvailableProviders = (delegate* unmanaged[Cdecl]<byte**, int, nint>)slots[126];
        SessionOptionsAppendExecutionProvider_CUDA_V2 = (delegate* unmanaged[Cdecl]<nint, nint, nint>)slots[204];
        CreateCUDAProviderOptions = (delegate* unmanaged[Cdecl]<nint*, nint>)slots[205];
        UpdateCUDAProviderOptions = (delegate* unmanaged[Cdecl]<nint, byte**, byte**, nuint, nint>)slots[206];
        ReleaseCUDAProviderOptions = (delegate* unmanaged[Cdecl]<nint, void>)slots[208];
    }

    /// <summary>
    /// The one place an <c>OrtStatus*</c> is inspected: null means success; anything else is read
    /// (code and message), released, and thrown as <see cref="OrtException"/>. Releasing before
    /// throwing is what keeps failed calls from leaking their status objects.
    /// </summary>
    public void Check(nint status)
    {
        if (status == 0) return;
        OrtErrorCode code;
        string message;
        try
        {
            code = GetErrorCode(status);
            message = Utf8.Read(GetErrorMessage(status)) ?? "";
        }
        finally
        {
            ReleaseStatus(status);
        }
        throw new OrtException(code, message);
    }

    /// <summary>Strings ORT allocated with its default allocator must be freed by it.</summary>
    public string TakeAllocatorString(nint allocator, byte* text)
    {
        try
        {
            return Utf8.Read(text) ?? "";
        }
        finally
        {
            if (text != null) Check(AllocatorFree(allocator, text));
        }
    }
}
