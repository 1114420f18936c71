using OnnxPrune.IR;
using OnnxPrune.Onnx;
using OnnxPrune.Runtime.Native;

namespace OnnxPrune.Runtime;

/// <summary>
/// A loaded model ready to run. <see cref="Run"/> may be called from several threads at once
/// (ORT allows concurrent runs of one session); Dispose waits for native calls in progress.
/// </summary>
public sealed unsafe class InferenceSession : IDisposable
{
    private readonly OrtRuntime runtime;
    private readonly SessionHandle handle;
    private readonly string? profilePrefix;
    private int profilingEnded;

    private InferenceSession(OrtRuntime runtime, SessionHandle handle, SessionSettings settings, string? profilePrefix)
    {
        this.runtime = runtime;
        this.handle = handle;
        this.profilePrefix = profilePrefix;
        Settings = settings;
        Inputs = SessionMetadata.Read(runtime, handle, inputs: true);
        Outputs = SessionMetadata.Read(runtime, handle, inputs: false);
    }

    public SessionSettings Settings { get; }

    /// <summary>Inputs the caller must feed (initializers excluded), in model order.</summary>
    public IReadOnlyList<TensorInfo> Inputs { get; }

    /// <summary>Outputs in model order.</summary>
    public IReadOnlyList<TensorInfo> Outputs { get; }

    internal OrtRuntime Runtime => runtime;

    /// <summary>Loads an .onnx file (external data files are resolved next to it).</summary>
    /// <exception cref="OrtException">ORT rejected the file (e.g. NoSuchFile, InvalidProtobuf, InvalidGraph).</exception>
    /// <exception cref="ExecutionProviderUnavailableException">The requested provider is missing.</exception>
    public static InferenceSession FromFile(string modelPath, SessionSettings? settings = null, OrtRuntime? runtime = null)
    {
        ArgumentNullException.ThrowIfNull(modelPath);
        return Create(settings, runtime, (api, env, options) =>
        {
            nint raw;
            fixed (byte* path = Utf8.Terminated(modelPath))
                api.Check(api.CreateSession(env, path, options, &raw));
            return raw;
        });
    }

    /// <summary>Loads a serialized ModelProto (models with external data need <see cref="FromFile"/>).</summary>
    /// <exception cref="OrtException">ORT rejected the bytes (e.g. InvalidProtobuf, InvalidGraph).</exception>
    /// <exception cref="ExecutionProviderUnavailableException">The requested provider is missing.</exception>
    public static InferenceSession FromBytes(byte[] model, SessionSettings? settings = null, OrtRuntime? runtime = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        return Create(settings, runtime, (api, env, options) =>
        {
            nint raw;
            fixed (byte* data = model)
                api.Check(api.CreateSessionFromArray(env, data, (nuint)model.Length, options, &raw));
            return raw;
        });
    }

    /// <summary>Serializes an IR model (all weights inline) and loads it; the model is not kept.</summary>
    /// <exception cref="OrtException">ORT rejected the model (e.g. InvalidGraph).</exception>
    /// <exception cref="ExecutionProviderUnavailableException">The requested provider is missing.</exception>
    public static InferenceSession FromModel(Model model, SessionSettings? settings = null, OrtRuntime? runtime = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        return FromBytes(OnnxModelFile.ToBytes(model), settings, runtime);
    }

    private delegate nint SessionFactory(OrtApi api, nint env, nint options);

    private static InferenceSession Create(SessionSettings? settings, OrtRuntime? runtime, SessionFactory factory)
    {
        settings ??= SessionSettings.Default;
        runtime ??= OrtRuntime.Shared;
        var api = runtime.Api;
        // ORT copies what it needs from the options, so they are released right after creation.
        using (var options = SessionOptionsFactory.Create(runtime, settings, out var prefix))
        using (var env = runtime.Env.Lease())
        using (var optionsLease = options.Lease())
        {
            var raw = factory(api, env.Pointer, optionsLease.Pointer);
            var session = new SessionHandle(api).Owning(raw);
            try
            {
                return new InferenceSession(runtime, session, settings, prefix);
            }
            catch
            {
                session.Dispose();
                throw;
            }
        }
    }

    /// <summary>
    /// Runs the model. Inputs are read in place from their managed arrays (pinned for the call);
    /// outputs are copied into new arrays.
    /// </summary>
    /// <param name="inputs">By input name; normally every entry of <see cref="Inputs"/>.</param>
    /// <param name="outputNames">Outputs to compute; null for all, in model order.</param>
    /// <param name="cancellationToken">Cancelling asks ORT to stop the run at the next node.</param>
    /// <returns>The requested outputs by name, in request order.</returns>
    /// <exception cref="ArgumentException">An input or output name the model does not have.</exception>
    /// <exception cref="OrtException">ORT failed (e.g. missing input, wrong type or shape).</exception>
    /// <exception cref="NotSupportedException">An output is not a tensor of a supported type.</exception>
    /// <exception cref="OperationCanceledException">The token was cancelled during the run.</exception>
    public IReadOnlyDictionary<string, TensorData> Run(
        IReadOnlyDictionary<string, TensorData> inputs,
        IReadOnlyList<string>? outputNames = null,
        CancellationToken cancellationToken = default)
    {
        var names = ResolveOutputs(outputNames);
        using var binding = InputBinding.Create(runtime, Inputs, inputs);
        using var outputNameArray = new NativeStringArray(names);
        var results = RunCore(binding, outputNameArray, cancellationToken);
        try
        {
            var outputs = new Dictionary<string, TensorData>(names.Count);
            for (var i = 0; i < names.Count; i++)
                outputs[names[i]] = TensorReader.Copy(runtime.Api, results[i], names[i]);
            return outputs;
        }
        finally
        {
            foreach (var result in results) result.Dispose();
        }
    }

    /// <summary>Checks requested output names; null means all outputs.</summary>
    internal IReadOnlyList<string> ResolveOutputs(IReadOnlyList<string>? outputNames)
    {
        if (outputNames is null) return Outputs.Select(o => o.Name).ToList();
        foreach (var name in outputNames)
        {
            if (!Outputs.Any(o => o.Name == name))
                throw new ArgumentException(
                    $"the model has no output named '{name}'; its outputs are: {string.Join(", ", Outputs)}",
                    nameof(outputNames));
        }
        if (outputNames.Distinct().Count() != outputNames.Count)
            throw new ArgumentException($"output names repeat: {string.Join(", ", outputNames)}", nameof(outputNames));
        return outputNames;
    }

    /// <summary>One OrtApi::Run. The caller owns (and must dispose) the returned values.</summary>
    internal ValueHandle[] RunCore(InputBinding inputs, NativeStringArray outputNames, CancellationToken cancellationToken)
    {
        var api = runtime.Api;
        RunOptionsHandle? runOptions = null;
        CancellationTokenRegistration registration = default;
        if (cancellationToken.CanBeCanceled)
        {
            cancellationToken.ThrowIfCancellationRequested();
            nint rawOptions;
            api.Check(api.CreateRunOptions(&rawOptions));
            runOptions = new RunOptionsHandle(api).Owning(rawOptions);
            registration = cancellationToken.Register(static state => Terminate((RunOptionsHandle)state!), runOptions);
        }

        // ORT treats non-null entries as caller-allocated outputs, so the array starts zeroed.
        var outputs = new nint[outputNames.Count];
        try
        {
            using var session = handle.Lease();
            var runOptionsPointer = runOptions?.DangerousGetHandle() ?? 0;
            fixed (nint* outputPointer = outputs)
            {
                api.Check(api.Run(session.Pointer, runOptionsPointer, inputs.Names, inputs.Values, (nuint)inputs.Count,
                    outputNames.Pointers, (nuint)outputNames.Count, outputPointer));
            }
        }
        catch (OrtException e) when (cancellationToken.IsCancellationRequested)
        {
            throw new OperationCanceledException("the run was cancelled", e, cancellationToken);
        }
        finally
        {
            registration.Dispose(); // waits for a running callback, so runOptions outlives it
            runOptions?.Dispose();
        }

        var wrapped = new ValueHandle[outputs.Length];
        for (var i = 0; i < outputs.Length; i++) wrapped[i] = new ValueHandle(api).Owning(outputs[i]);
        return wrapped;
    }

    private static void Terminate(RunOptionsHandle runOptions)
    {
        try
        {
            runOptions.RequestTerminate();
        }
        catch (ObjectDisposedException)
        {
            // The run already finished.
        }
    }

    /// <summary>Stops profiling and returns the full path of ORT's profile JSON.</summary>
    /// <exception cref="InvalidOperationException">Profiling was not enabled, or already ended.</exception>
    public string EndProfiling()
    {
        if (profilePrefix is null)
            throw new InvalidOperationException(
                "profiling is not enabled for this session; create it with SessionSettings { EnableProfiling = true }");
        if (Interlocked.Exchange(ref profilingEnded, 1) != 0)
            throw new InvalidOperationException("profiling already ended for this session");
        var api = runtime.Api;
        byte* path = null;
        using (var session = handle.Lease())
            api.Check(api.SessionEndProfiling(session.Pointer, runtime.DefaultAllocator, &path));
        return Path.GetFullPath(api.TakeAllocatorString(runtime.DefaultAllocator, path));
    }

    /// <summary>Stops profiling and summarizes the profile per node and per op type.</summary>
    /// <param name="keepFile">Leave ORT's JSON file on disk (it is deleted otherwise).</param>
    public ProfileSummary EndProfilingSummary(bool keepFile = false)
    {
        var path = EndProfiling();
        try
        {
            return ProfileSummary.Load(path);
        }
        finally
        {
            if (!keepFile) File.Delete(path);
        }
    }

    /// <summary>
    /// Releases the native session. ORT writes the profile of a session whose profiling was never
    /// ended when it is released; if this binding chose the file name (no
    /// <see cref="SessionSettings.ProfileFilePrefix"/>), nobody can know the file, so it is deleted.
    /// </summary>
    public void Dispose()
    {
        if (handle.IsClosed) return;
        handle.Dispose();
        if (profilePrefix is not null && Settings.ProfileFilePrefix is null && Volatile.Read(ref profilingEnded) == 0)
            DeleteProfileFiles(profilePrefix);
    }

    /// <summary>Prefix given to ORT for the profile file, null without profiling.</summary>
    internal string? ProfilePrefix => profilePrefix;

    private static void DeleteProfileFiles(string prefix)
    {
        var directory = Path.GetDirectoryName(prefix);
        if (string.IsNullOrEmpty(directory) || !Directory.Exists(directory)) return;
        foreach (var file in Directory.EnumerateFiles(directory, Path.GetFileName(prefix) + "*.json"))
        {
            try
            {
                File.Delete(file);
            }
            catch (IOException)
            {
                // Best effort: a leftover temp file is not worth failing Dispose for.
            }
        }
    }
}
