using OnnxPrune.IR;
using OnnxPrune.Runtime;

namespace OnnxPrune.Tests.Runtime;

public class SessionMetadataTests
{
    private static OrtRuntime Runtime => OrtTestLibrary.Runtime;

    [Fact]
    public void Reads_names_types_and_fixed_dims_from_a_file()
    {
        using var session = InferenceSession.FromFile(NodeTestModels.Path("test_conv_with_strides_padding"), runtime: Runtime);
        session.Inputs.Select(i => i.Name).Should().Equal("x", "W");
        session.Inputs[0].ElementType.Should().Be(DataType.Float);
        session.Inputs[0].Dims.Should().Equal(1, 1, 7, 5);
        session.Inputs[1].Dims.Should().Equal(1, 1, 3, 3);
        session.Inputs[0].SymbolicDims.Should().Equal(null, null, null, null);
        session.Outputs.Should().ContainSingle().Which.ToString().Should().Be("y: float[1,1,4,3]");
    }

    [Fact]
    public void Bytes_and_file_give_the_same_metadata()
    {
        var path = NodeTestModels.Path("test_add");
        using var fromFile = InferenceSession.FromFile(path, runtime: Runtime);
        using var fromBytes = InferenceSession.FromBytes(File.ReadAllBytes(path), runtime: Runtime);
        fromBytes.Inputs.Select(i => i.ToString()).Should().Equal(fromFile.Inputs.Select(i => i.ToString()));
        fromBytes.Outputs.Select(o => o.ToString()).Should().Equal("sum: float[3,4,5]");
    }

    [Fact]
    public void Open_axes_are_minus_one_with_their_symbolic_name()
    {
        var model = TinyModel.Identity(DataType.Int64, "batch", null, 7L);
        using var session = InferenceSession.FromBytes(model, runtime: Runtime);
        var input = session.Inputs.Single();
        input.Kind.Should().Be(OnnxValueKind.Tensor);
        input.ElementType.Should().Be(DataType.Int64);
        input.Dims.Should().Equal(-1, -1, 7);
        input.SymbolicDims.Should().Equal("batch", null, null);
        input.ToString().Should().Be("x: int64[batch,?,7]");
    }

    [Fact]
    public void Non_tensor_inputs_are_reported_by_kind()
    {
        using var session = InferenceSession.FromFile(NodeTestModels.Path("test_identity_sequence"), runtime: Runtime);
        session.Inputs.Single().Kind.Should().Be(OnnxValueKind.Sequence);
        session.Inputs.Single().ElementType.Should().Be(DataType.Undefined);
        session.Inputs.Single().Dims.Should().BeEmpty();
    }

    [Fact]
    public void Initializers_are_not_listed_as_inputs()
    {
        var model = new TinyModel()
            .Input("x", DataType.Float, 2L).Output("y", DataType.Float, 2L)
            .Initializer("b", [1f, 2f], 2)
            .Node("Add", ["x", "b"], ["y"]).Build();
        using var session = InferenceSession.FromBytes(model, runtime: Runtime);
        session.Inputs.Select(i => i.Name).Should().Equal("x");
    }
}
