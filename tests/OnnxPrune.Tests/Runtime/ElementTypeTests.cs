using OnnxPrune.IR;
using OnnxPrune.Runtime;

namespace OnnxPrune.Tests.Runtime;

public class ElementTypeTests
{
    private static OrtRuntime Runtime => OrtTestLibrary.Runtime;

    /// <summary>Four values per supported type, including each type's extremes.</summary>
    public static TheoryData<DataType, Array> Samples() => new()
    {
        { DataType.Float, new[] { -1.5f, float.Epsilon, float.MaxValue, float.NaN } },
        { DataType.Double, new[] { -1.5, double.Epsilon, double.MaxValue, double.NegativeInfinity } },
        { DataType.Int64, new[] { long.MinValue, -1L, 0L, long.MaxValue } },
        { DataType.Int32, new[] { int.MinValue, -1, 0, int.MaxValue } },
        { DataType.Bool, new[] { true, false, false, true } },
        { DataType.UInt8, new byte[] { 0, 1, 128, 255 } },
        { DataType.Int8, new sbyte[] { -128, -1, 0, 127 } },
        { DataType.Int16, new short[] { short.MinValue, -1, 0, short.MaxValue } },
        { DataType.UInt16, new ushort[] { 0, 1, 32768, ushort.MaxValue } },
        { DataType.UInt32, new uint[] { 0, 1, 2147483648u, uint.MaxValue } },
        { DataType.UInt64, new ulong[] { 0, 1, 1UL << 63, ulong.MaxValue } },
        { DataType.Float16, new[] { (Half)(-1.5f), Half.Epsilon, Half.MaxValue, (Half)0.333f } },
    };

    [Theory]
    [MemberData(nameof(Samples))]
    public void Every_supported_type_round_trips_through_identity(DataType type, Array values)
    {
        using var session = InferenceSession.FromBytes(TinyModel.Identity(type, 2L, 2L), runtime: Runtime);
        session.Inputs.Single().ElementType.Should().Be(type);

        var y = session.Run(new Dictionary<string, TensorData> { ["x"] = Tensor(values, 2, 2) })["y"];

        y.ElementType.Should().Be(type);
        y.Dims.Should().Equal(2, 2);
        y.Data.GetType().Should().Be(values.GetType());
        y.Data.Cast<object>().Should().Equal(values.Cast<object>());
    }

    /// <summary>Identity would pass even if two same-sized types were confused; Cast makes ORT
    /// interpret the bytes, so the numbers only come out right if the type tag is right.</summary>
    [Theory]
    [MemberData(nameof(Samples))]
    public void Onnx_interprets_each_type_as_declared(DataType type, Array values)
    {
        using var session = InferenceSession.FromBytes(TinyModel.Cast(type, DataType.Double, 4L), runtime: Runtime);
        var y = session.Run(new Dictionary<string, TensorData> { ["x"] = Tensor(values, 4) })["y"].As<double>();
        y.Should().Equal(values.Cast<object>().Select(ToDouble));
    }

    [Fact]
    public void Float16_casts_from_the_onnx_test_suite()
    {
        using var toHalf = InferenceSession.FromFile(NodeTestModels.Path("test_cast_FLOAT_to_FLOAT16"), runtime: Runtime);
        var floats = Enumerable.Range(0, 12).Select(i => i * 0.7f - 4f).ToArray();
        var halves = toHalf.Run(new Dictionary<string, TensorData> { ["input"] = TensorData.Create(floats, 3, 4) })["output"].As<Half>();
        halves.Should().Equal(floats.Select(f => (Half)f));

        using var toDouble = InferenceSession.FromFile(NodeTestModels.Path("test_cast_FLOAT16_to_DOUBLE"), runtime: Runtime);
        var doubles = toDouble.Run(new Dictionary<string, TensorData> { ["input"] = TensorData.Create(halves, 3, 4) })["output"].As<double>();
        doubles.Should().Equal(halves.Select(h => (double)h));
    }

    [Fact]
    public void String_outputs_are_refused_with_a_clear_message()
    {
        using var session = InferenceSession.FromFile(NodeTestModels.Path("test_cast_FLOAT_to_STRING"), runtime: Runtime);
        var act = () => session.Run(new Dictionary<string, TensorData> { ["input"] = TensorData.Create(new float[12], 3, 4) });
        act.Should().Throw<NotSupportedException>().Which.Message.Should().Contain("'output'").And.Contain("string tensors are not supported");
    }

    [Fact]
    public void Bfloat16_outputs_are_refused_naming_the_type()
    {
        using var session = InferenceSession.FromFile(NodeTestModels.Path("test_cast_FLOAT_to_BFLOAT16"), runtime: Runtime);
        var act = () => session.Run(new Dictionary<string, TensorData> { ["input"] = TensorData.Create(new float[12], 3, 4) });
        act.Should().Throw<NotSupportedException>().WithMessage("*bfloat16*");
    }

    [Fact]
    public void Types_without_an_onnx_mapping_are_rejected_when_wrapped()
    {
        var act = () => TensorData.Create(new decimal[] { 1m }, 1);
        act.Should().Throw<NotSupportedException>().WithMessage("*Decimal*");
    }

    [Fact]
    public void Shape_must_match_the_array_length()
    {
        var act = () => TensorData.Create(new float[5], 2, 3);
        act.Should().Throw<ArgumentException>().WithMessage("*[2,3] holds 6 elements but the array has 5*");
        var negative = () => TensorData.Create(new float[0], -1);
        negative.Should().Throw<ArgumentException>();
    }

    [Fact]
    public void Typed_access_checks_the_element_type()
    {
        var t = TensorData.Create(new[] { 1, 2 }, 2);
        t.As<int>().Should().Equal(1, 2);
        var act = () => t.As<uint>();
        act.Should().Throw<InvalidOperationException>().WithMessage("*int32*");
    }

    [Fact]
    public void The_array_decides_the_type_even_when_passed_as_its_signed_twin()
    {
        var bytes = (byte[])(object)new sbyte[] { -1, 2 }; // legal in the CLR
        var t = TensorData.Create(bytes, 2);
        t.ElementType.Should().Be(DataType.Int8);
        t.As<sbyte>().Should().Equal(-1, 2);
    }

    // Reflection on the exact element type: a type pattern would not do, because the CLR lets
    // sbyte[] pass as byte[] (and uint[] as int[], ...).
    private static TensorData Tensor(Array values, params long[] dims) =>
        (TensorData)typeof(TensorData).GetMethod(nameof(TensorData.Create))!
            .MakeGenericMethod(values.GetType().GetElementType()!)
            .Invoke(null, [values, dims])!;

    private static double ToDouble(object value) => value switch
    {
        Half h => (double)h,
        bool b => b ? 1 : 0,
        _ => Convert.ToDouble(value),
    };
}
