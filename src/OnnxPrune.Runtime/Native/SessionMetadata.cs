namespace OnnxPrune.Runtime.Native;

/// <summary>Reads a session's input or output list (names, element types, shapes) once, at load.</summary>
internal static unsafe class SessionMetadata
{
    public static IReadOnlyList<TensorInfo> Read(OrtRuntime runtime, SessionHandle handle, bool inputs)
    {
        var api = runtime.Api;
        var allocator = runtime.DefaultAllocator;
        using var session = handle.Lease();
        nuint count;
        api.Check(inputs ? api.SessionGetInputCount(session.Pointer, &count) : api.SessionGetOutputCount(session.Pointer, &count));
        var result = new TensorInfo[(int)count];
        for (nuint i = 0; i < count; i++)
        {
            byte* rawName = null;
            api.Check(inputs
                ? api.SessionGetInputName(session.Pointer, i, allocator, &rawName)
                : api.SessionGetOutputName(session.Pointer, i, allocator, &rawName));
            var name = api.TakeAllocatorString(allocator, rawName);

            nint rawType;
            api.Check(inputs
                ? api.SessionGetInputTypeInfo(session.Pointer, i, &rawType)
                : api.SessionGetOutputTypeInfo(session.Pointer, i, &rawType));
            using var typeInfo = new TypeInfoHandle(api).Owning(rawType);
            result[(int)i] = TypeInfoReader.Describe(api, name, typeInfo);
        }
        return result;
    }
}
