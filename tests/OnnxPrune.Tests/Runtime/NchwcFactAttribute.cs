using OnnxPrune.Runtime;
using OnnxPrune.Runtime.Lowering;

namespace OnnxPrune.Tests.Runtime;

/// <summary>A fact about ONNX Runtime's blocked-layout (NCHWc) kernels: reported as skipped, not
/// passed, on a machine whose runtime has none (a CPU without AVX2, an ARM build).</summary>
public sealed class NchwcFactAttribute : FactAttribute
{
    public NchwcFactAttribute()
    {
        if (NchwcSupport.BlockSize(OrtRuntime.Shared) == 0) Skip = NchwcTheoryAttribute.Reason;
    }
}

/// <summary>The theory form of <see cref="NchwcFactAttribute"/>.</summary>
public sealed class NchwcTheoryAttribute : TheoryAttribute
{
    internal const string Reason = "this machine's ONNX Runtime has no blocked-layout (NCHWc) kernels: nothing is lowered";

    public NchwcTheoryAttribute()
    {
        if (NchwcSupport.BlockSize(OrtRuntime.Shared) == 0) Skip = Reason;
    }
}
