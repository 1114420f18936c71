using OnnxPrune.IR;
using OnnxPrune.Onnx;
using Ort = Microsoft.ML.OnnxRuntime;

namespace OnnxPrune.Runtime;

/// <summary>
/// A loaded model ready to run, over the managed API's session. <see cref="Run"/> may be called
/// from several threads at once (ORT allows concurrent runs of one session); Dispose waits for
/// runs in progress. A session nobody disposed is released by the finalizer.
/// </summary>
internal sealed class InferenceSession : IDisposable
{
    private readonly Ort.InferenceSession session;
    private readonly string? profilePrefix;
    private readonly object gate = new();
    private int activeCalls;
    private bool disposed;
    private int profilingEnded;

    private InferenceSession(Ort.InferenceSession session, SessionSettings settings, string? profilePrefix)
    {
        this.session = session;
        this.profilePrefix = profilePrefix;
        Settings = settings;
        NativeHandles.SessionCreated();
        Inputs = session.InputNames.Select(n => Describe(n, session.InputMetadata[n])).ToList();
        Outputs = session.OutputNames.Select(n => Describe(n, session.OutputMetadata[n])).ToList();
    }

    ~InferenceSession() => Release();

    public SessionSettings Settings { get; }

    /// <summary>Inputs the caller must feed (initializers excluded), in model order.</summary>
    public IReadOnlyList<TensorInfo> Inputs { get; }

    /// <summary>Outputs in model order.</summary>
    public IReadOnlyList<TensorInfo> Outputs { get; }

    /// <summary>Loads an .onnx file (external data files are resolved next to it).</summary>
    /// <exception cref="OrtException">ORT rejected the file (e.g. NoSuchFile, InvalidProtobuf, InvalidGraph).</exception>
    /// <exception cref="ExecutionProviderUnavailableException">The requested provider is missing.</exception>
    public static InferenceSession FromFile(string modelPath, SessionSettings? settings = null, OrtRuntime? runtime = null)
    {
        ArgumentNullException.ThrowIfNull(modelPath);
        return Create(settings, runtime, options => new Ort.InferenceSession(modelPath, options));
    }

    /// <summary>Loads a serialized ModelProto (models with external data need <see cref="FromFile"/>).</summary>
    /// <exception cref="OrtException">ORT rejected the bytes (e.g. InvalidProtobuf, InvalidGraph).</exception>
    /// <exception cref="ExecutionProviderUnavailableException">The requested provider is missing.</exception>
    public static InferenceSession FromBytes(byte[] model, SessionSettings? settings = null, OrtRuntime? runtime = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        return Create(settings, runtime, options => new Ort.InferenceSession(model, options));
    }

    /// <summary>Serializes an IR model (all weights inline) and loads it; the model is not kept.</summary>
    /// <exception cref="OrtException">ORT rejected the model (e.g. InvalidGraph).</exception>
    /// <exception cref="ExecutionProviderUnavailableException">The requested provider is missing.</exception>
    public static InferenceSession FromModel(Model model, SessionSettings? settings = null, OrtRuntime? runtime = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        return FromBytes(OnnxModelFile.ToBytes(model), settings, runtime);
    }

    private static InferenceSession Create(SessionSettings? settings, OrtRuntime? runtime, Func<Ort.SessionOptions, Ort.InferenceSession> factory)
    {
        settings ??= SessionSettings.Default;
        runtime ??= OrtRuntime.Shared;
        // ORT copies what it needs from the options, so they are released right after creation.
        using var options = SessionOptionsFactory.Create(runtime, settings, out var prefix);
        Ort.InferenceSession session;
        try
        {
            session = factory(options);
        }
        catch (Ort.OnnxRuntimeException e) when (settings.Provider != ExecutionProvider.Cpu && ExecutionProviders.IsProviderFailure(e.Message))
        {
            // ORT may load the GPU provider's libraries only when the session is created.
            throw ExecutionProviders.Unavailable(runtime, settings.Provider, settings.CudaDeviceId, e);
        }
        catch (Ort.OnnxRuntimeException e)
        {
            throw OrtException.From(e);
        }
        try
        {
            return new InferenceSession(session, settings, prefix);
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }

    private static TensorInfo Describe(string name, Ort.NodeMetadata metadata)
    {
        var kind = (OnnxValueKind)(int)metadata.OnnxValueType;
        if (kind != OnnxValueKind.Tensor) return new TensorInfo(name, kind, DataType.Undefined, [], []);
        var dims = metadata.Dimensions.Select(d => (long)d).ToArray();
        var symbolic = metadata.SymbolicDimensions.Select(s => string.IsNullOrEmpty(s) ? null : s).ToArray();
        return new TensorInfo(name, kind, (DataType)(int)metadata.ElementDataType, dims, symbolic);
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
        using var binding = InputBinding.Create(Inputs, inputs);
        using var results = RunCore(binding, names, cancellationToken);
        var outputs = new Dictionary<string, TensorData>(names.Count);
        for (var i = 0; i < names.Count; i++) outputs[names[i]] = TensorReader.Copy(results.Values[i], names[i]);
        return outputs;
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

    /// <summary>One ORT Run. The caller owns (and must dispose) the returned values.</summary>
    internal RunResults RunCore(InputBinding inputs, IReadOnlyList<string> outputNames, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        Enter();
        try
        {
            using var runOptions = new Ort.RunOptions();
            using var registration = cancellationToken.CanBeCanceled
                ? cancellationToken.Register(static state => Terminate((Ort.RunOptions)state!), runOptions)
                : default;
            try
            {
                return new RunResults(session.Run(runOptions, inputs.Names, inputs.Values, outputNames));
            }
            catch (Ort.OnnxRuntimeException e) when (cancellationToken.IsCancellationRequested)
            {
                throw new OperationCanceledException("the run was cancelled", OrtException.From(e), cancellationToken);
            }
            catch (Ort.OnnxRuntimeException e)
            {
                throw OrtException.From(e);
            }
        }
        finally
        {
            Exit();
        }
    }

    private static void Terminate(Ort.RunOptions runOptions)
    {
        try
        {
            runOptions.Terminate = true;
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
        Enter();
        try
        {
            return Path.GetFullPath(session.EndProfiling());
        }
        finally
        {
            Exit();
        }
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
    /// Releases the native session, after the runs in progress. ORT writes the profile of a
    /// session whose profiling was never ended when it is released; if this binding chose the
    /// file name (no <see cref="SessionSettings.ProfileFilePrefix"/>), nobody can know the file, so
    /// it is deleted.
    /// </summary>
    public void Dispose()
    {
        lock (gate)
        {
            if (disposed) return;
            disposed = true;
            while (activeCalls > 0) Monitor.Wait(gate);
        }
        Release();
        GC.SuppressFinalize(this);
    }

    private int released;

    private void Release()
    {
        if (Interlocked.Exchange(ref released, 1) != 0) return;
        try
        {
            session.Dispose();
        }
        finally
        {
            NativeHandles.SessionReleased();
        }
        if (profilePrefix is not null && Settings.ProfileFilePrefix is null && Volatile.Read(ref profilingEnded) == 0)
            DeleteProfileFiles(profilePrefix);
    }

    private void Enter()
    {
        lock (gate)
        {
            ObjectDisposedException.ThrowIf(disposed, this);
            activeCalls++;
        }
    }

    private void Exit()
    {
        lock (gate)
        {
            if (--activeCalls == 0) Monitor.PulseAll(gate);
        }
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

/// <summary>The OrtValues one Run produced, counted while they live; disposing releases them.</summary>
internal sealed class RunResults : IDisposable
{
    private readonly IDisposable owner;

    public RunResults(Ort.IDisposableReadOnlyCollection<Ort.OrtValue> values)
    {
        owner = values;
        Values = values.ToList();
        foreach (var _ in Values) NativeHandles.ValueCreated();
    }

    public IReadOnlyList<Ort.OrtValue> Values { get; }

    private bool disposed;

    public void Dispose()
    {
        if (disposed) return;
        disposed = true;
        owner.Dispose();
        foreach (var _ in Values) NativeHandles.ValueReleased();
    }
}
