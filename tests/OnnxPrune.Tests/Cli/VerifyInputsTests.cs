using System.IO.Compression;
using System.Text;

namespace OnnxPrune.Tests.Cli;

/// <summary>
/// verify --inputs FILE.npz with tiny models whose difference is exact: A computes a+b and B
/// computes a-b, so |A-B| = 2|b| elementwise, in float without rounding for the values used here.
/// </summary>
[Collection(CliCollection.Name)]
[Trait("Category", "Slow")]
public class VerifyInputsTests : IDisposable
{
    private readonly TempFolder _temp = TestData.NewTempFolder();
    private readonly string _add, _sub, _mulOne, _mulTwo;
    private static readonly float[] A = [1, -2, 3, 4, -5, 6];
    private static readonly float[] B = [0.5f, -3.25f, 1.125f, 0, 2, -0.75f];

    public VerifyInputsTests()
    {
        _add = _temp.File("add.onnx");
        _sub = _temp.File("sub.onnx");
        ProtoModels.Elementwise("Add", ["a", "b"], [2, 3]).Save(_add);
        ProtoModels.Elementwise("Sub", ["a", "b"], [2, 3]).Save(_sub);
        _mulOne = _temp.File("mul1.onnx");
        _mulTwo = _temp.File("mul2.onnx");
        ProtoModels.Elementwise("Mul", ["x"], [2, 3], ("k", 1f)).Save(_mulOne);
        ProtoModels.Elementwise("Mul", ["x"], [2, 3], ("k", 2f)).Save(_mulTwo);
    }

    public void Dispose() => _temp.Dispose();

    private string Npz(string name, bool compressed, params (string Name, byte[] Npy)[] arrays)
    {
        var path = _temp.File(name);
        Npy.WriteNpz(path, compressed, arrays);
        return path;
    }

    private static double MaxAbs(IEnumerable<float> values) => values.Max(v => Math.Abs((double)v));

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Named_arrays_give_the_exact_difference(bool compressed)
    {
        var npz = Npz("named.npz", compressed, ("b", Npy.Array(B, 2, 3)), ("a", Npy.Array(A, 2, 3)));
        var json = JsonOutput.Parse(CliRunner.Run("verify", _add, _sub, "--inputs", npz, "--json"), exitCode: 1);
        var output = json.Key("outputs").EnumerateArray().Single();
        output.Key("max_abs_error").Number().Should().Be(2 * MaxAbs(B), "|(a+b)-(a-b)| = 2|b|; arrays are matched by name, not order");
        output.Key("scale").Number().Should().Be(A.Zip(B).Max(p => Math.Abs((double)p.First + p.Second)), "scale is max|A|");
        output.Key("shape").EnumerateArray().Select(d => d.GetInt64()).Should().Equal([2, 3]);
    }

    [Fact]
    public void Positional_arrays_are_taken_in_input_order()
    {
        var npz = Npz("positional.npz", false, ("arr_0", Npy.Array(A, 2, 3)), ("arr_1", Npy.Array(B, 2, 3)));
        var json = JsonOutput.Parse(CliRunner.Run("verify", _add, _sub, "--inputs", npz, "--json"), exitCode: 1);
        json.Key("outputs").EnumerateArray().Single().Key("max_abs_error").Number().Should().Be(2 * MaxAbs(B));
    }

    [Fact]
    public void The_npz_values_are_used_instead_of_random_ones()
    {
        // x*2 - x*1 = x exactly: the error is the largest |x| of the file.
        float[] x = [0.25f, -7.5f, 1, 2, 3, -4];
        var npz = Npz("x.npz", false, ("x", Npy.Array(x, 2, 3)));
        var json = JsonOutput.Parse(CliRunner.Run("verify", _mulOne, _mulTwo, "--inputs", npz, "--json"), exitCode: 1);
        json.Key("outputs").EnumerateArray().Single().Key("max_abs_error").Number().Should().Be(7.5);
        // Identical models on the same file pass.
        JsonOutput.Parse(CliRunner.Run("verify", _mulOne, _mulOne, "--inputs", npz, "--json"))
            .Key("outputs").EnumerateArray().Single().Key("max_abs_error").Number().Should().Be(0);
    }

    [Fact]
    public void Tolerance_follows_the_documented_rule()
    {
        // max|A-B| = 7.5 and max|A| = 7.5: passes when 7.5 <= T * max(1, 7.5), i.e. T >= 1.
        float[] x = [0.25f, -7.5f, 1, 2, 3, -4];
        var npz = Npz("x.npz", false, ("x", Npy.Array(x, 2, 3)));
        CliRunner.Run("verify", _mulOne, _mulTwo, "--inputs", npz, "--tolerance", "1").ExitCode.Should().Be(0);
        CliRunner.Run("verify", _mulOne, _mulTwo, "--inputs", npz, "--tolerance", "0.999").ExitCode.Should().Be(1);
        // With every |x| below 1 the scale is 1: max|A-B| = 0.5 passes at T = 0.5, fails at 0.49.
        float[] small = [0.25f, -0.5f, 0.125f, 0, 0.375f, -0.0625f];
        var npzSmall = Npz("small.npz", false, ("x", Npy.Array(small, 2, 3)));
        CliRunner.Run("verify", _mulOne, _mulTwo, "--inputs", npzSmall, "--tolerance", "0.5").ExitCode.Should().Be(0);
        CliRunner.Run("verify", _mulOne, _mulTwo, "--inputs", npzSmall, "--tolerance", "0.49").ExitCode.Should().Be(1);
    }

    [Fact]
    public void An_npz_missing_an_input_names_it()
    {
        var npz = Npz("only-a.npz", false, ("a", Npy.Array(A, 2, 3)));
        var r = CliRunner.Run("verify", _add, _sub, "--inputs", npz);
        r.ShouldFailWithBadInput("'b'", "only-a\\.npz");
        r.Stdout.Should().BeEmpty();
    }

    [Fact]
    public void An_npz_with_the_wrong_dtype_names_the_array()
    {
        var npz = Npz("double.npz", false, ("a", Npy.Array(A.Select(v => (double)v).ToArray(), 2, 3)), ("b", Npy.Array(B, 2, 3)));
        CliRunner.Run("verify", _add, _sub, "--inputs", npz).ShouldFailWithBadInput("'a'", "double|float64");
    }

    [Fact]
    public void An_npz_with_the_wrong_shape_names_the_array()
    {
        var npz = Npz("shape.npz", false, ("a", Npy.Array(A, 3, 2)), ("b", Npy.Array(B, 2, 3)));
        CliRunner.Run("verify", _add, _sub, "--inputs", npz).ShouldFailWithBadInput("'a'", "shape");
    }

    public static TheoryData<string> BrokenNpzFiles() => new()
    {
        "missing", "not-a-zip", "truncated-zip", "empty-zip", "npy-bad-magic", "npy-short-data", "npy-fortran-order",
        "npy-big-endian", "npy-dims-overflow", "npy-huge-header-length", "npy-negative-dim", "corrupt-deflate",
    };

    [Theory]
    [MemberData(nameof(BrokenNpzFiles))]
    public void A_broken_npz_is_bad_input(string kind)
    {
        var path = _temp.File($"{kind}.npz");
        byte[] Header(string dict, int version = 1)
        {
            var header = Encoding.ASCII.GetBytes(dict.PadRight(118) + "\n");
            var result = new List<byte> { 0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', (byte)version, 0 };
            result.AddRange(version == 1 ? BitConverter.GetBytes((ushort)header.Length) : BitConverter.GetBytes((uint)header.Length));
            result.AddRange(header);
            return result.ToArray();
        }
        var good = Npy.Array(A, 2, 3);
        switch (kind)
        {
            case "missing": break;
            case "not-a-zip": File.WriteAllText(path, "a,b\n1,2\n"); break;
            case "truncated-zip":
                Npy.WriteNpz(path, false, ("a", good), ("b", Npy.Array(B, 2, 3)));
                var bytes = File.ReadAllBytes(path);
                File.WriteAllBytes(path, bytes[..(bytes.Length / 2)]);
                break;
            case "empty-zip": using (ZipFile.Open(path, ZipArchiveMode.Create)) { } break;
            case "npy-bad-magic": Npy.WriteNpz(path, false, ("a", "NOTNUMPY"u8.ToArray().Concat(good[8..]).ToArray()), ("b", Npy.Array(B, 2, 3))); break;
            case "npy-short-data": Npy.WriteNpz(path, false, ("a", good[..^4]), ("b", Npy.Array(B, 2, 3))); break;
            case "npy-fortran-order": Npy.WriteNpz(path, false, ("a", Header("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }").Concat(good[^24..]).ToArray()), ("b", Npy.Array(B, 2, 3))); break;
            case "npy-big-endian": Npy.WriteNpz(path, false, ("a", Header("{'descr': '>f4', 'fortran_order': False, 'shape': (2, 3), }").Concat(good[^24..]).ToArray()), ("b", Npy.Array(B, 2, 3))); break;
            case "npy-dims-overflow": Npy.WriteNpz(path, false, ("a", Header("{'descr': '<f4', 'fortran_order': False, 'shape': (10000000000, 10000000000), }").Concat(good[^24..]).ToArray()), ("b", Npy.Array(B, 2, 3))); break;
            case "npy-negative-dim": Npy.WriteNpz(path, false, ("a", Header("{'descr': '<f4', 'fortran_order': False, 'shape': (-2, 3), }").Concat(good[^24..]).ToArray()), ("b", Npy.Array(B, 2, 3))); break;
            case "npy-huge-header-length":
                var v2 = Header("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", version: 2);
                BitConverter.GetBytes(0xFFFFFFF0u).CopyTo(v2, 8);
                Npy.WriteNpz(path, false, ("a", v2.Concat(good[^24..]).ToArray()), ("b", Npy.Array(B, 2, 3)));
                break;
            case "corrupt-deflate":
                Npy.WriteNpz(path, true, ("a", good.Concat(new byte[4000]).ToArray()), ("b", Npy.Array(B, 2, 3)));
                var zip = File.ReadAllBytes(path);
                // Damage the middle of the first entry's compressed data (the local header is 30 bytes + name).
                for (int i = 40; i < 60; i++) zip[i] ^= 0x5A;
                File.WriteAllBytes(path, zip);
                break;
            default: throw new ArgumentException(kind);
        }
        var r = CliRunner.Run("verify", _add, _sub, "--inputs", path);
        r.ShouldFailWithBadInput(System.Text.RegularExpressions.Regex.Escape(Path.GetFileName(path)));
        r.Stdout.Should().BeEmpty();
    }
}
