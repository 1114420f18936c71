using OnnxPrune.IR;
using OnnxPrune.Pruning.Latency;

namespace OnnxPrune.Tests.Pruning.Latency;

/// <summary>The on-disk cache: round trip, two writers, corrupt or foreign files, no entry measured twice.</summary>
public class LatencyTableTests
{
    private static readonly LayerSignature Conv3x3 = new("Conv", LayerKind.Dense, 1, 1, [3, 3], [1, 1], [1, 1, 1, 1], [1, 1], [16, 16], 1, "Relu");

    [Fact]
    public void An_entry_is_measured_once_and_then_answered_from_memory()
    {
        using var f = new LatencyFixture();
        var table = f.Table();
        var first = table.Milliseconds(Conv3x3, 8, 16);
        table.Milliseconds(Conv3x3, 8, 16).Should().Be(first);
        table.Milliseconds(Conv3x3, 8, 16).Should().Be(first);
        (table.Measured, table.Cached, f.Probes).Should().Be((1, 2, 1));
        table.Milliseconds(Conv3x3, 16, 8);
        (table.Measured, f.Probes).Should().Be((2, 2), "(16, 8) is another entry than (8, 16)");
    }

    [Fact]
    public void The_cache_file_round_trips()
    {
        using var f = new LatencyFixture();
        var ms = f.Table().Milliseconds(Conv3x3, 8, 16);
        var again = f.Table();
        again.Contains(Conv3x3, 8, 16).Should().BeTrue();
        again.Milliseconds(Conv3x3, 8, 16).Should().Be(ms);
        (again.Measured, again.Cached, f.Probes).Should().Be((0, 1, 1));
        Directory.GetFiles(f.Folder).Should().ContainSingle("the temporary file is renamed over the cache file");
    }

    [Fact]
    public void Two_writers_merge_and_read_each_others_entries()
    {
        using var f = new LatencyFixture();
        var a = f.Table();
        var b = f.Table(); // opened before a wrote anything
        a.Milliseconds(Conv3x3, 8, 8);
        b.Milliseconds(Conv3x3, 4, 4);
        b.Milliseconds(Conv3x3, 8, 8);
        (b.Measured, b.Cached).Should().Be((1, 1), "b's miss re-reads the file, where a's entry is");
        a.Milliseconds(Conv3x3, 16, 16); // a's write must keep b's entry
        var c = f.Table();
        c.Count.Should().Be(3);
        c.Milliseconds(Conv3x3, 4, 4);
        c.Measured.Should().Be(0);
        f.Probes.Should().Be(3);
    }

    [Theory]
    [InlineData("not json at all {")]
    [InlineData("{\"format\": 1, \"identity\": \"test machine | batch 1\", \"entries\": [1, 2]}")]
    [InlineData("{\"format\": 1, \"identity\": \"test machine | batch 1\", \"entries\": {\"x\": \"fast\"}}")]
    [InlineData("")]
    public void A_corrupt_file_is_ignored_and_rewritten(string content)
    {
        using var f = new LatencyFixture();
        var path = f.Table().FilePath;
        File.WriteAllText(path, content);
        var table = f.Table();
        table.Count.Should().Be(0);
        table.Milliseconds(Conv3x3, 8, 8);
        table.Measured.Should().Be(1);
        table.LastWriteError.Should().BeNull();
        var reread = f.Table();
        reread.Milliseconds(Conv3x3, 8, 8);
        reread.Measured.Should().Be(0, "the file was rewritten whole");
    }

    [Fact]
    public void Entries_recorded_for_another_identity_are_not_trusted()
    {
        using var f = new LatencyFixture();
        var mine = f.Table();
        var ms = mine.Milliseconds(Conv3x3, 8, 8);
        // The same file name holding another identity's numbers (a hash collision, or a hand-copied file).
        var text = File.ReadAllText(mine.FilePath).Replace("test machine | batch 1", "another machine | batch 1");
        File.WriteAllText(mine.FilePath, text);
        var table = f.Table();
        table.Count.Should().Be(0);
        table.Milliseconds(Conv3x3, 8, 8).Should().Be(ms);
        table.Measured.Should().Be(1);
    }

    [Fact]
    public void Identities_give_distinct_files()
    {
        using var f = new LatencyFixture();
        f.Table("machine A | batch 1").FilePath.Should().NotBe(f.Table("machine A | batch 8").FilePath);
        LatencyTableIdentity.Describe(new OnnxPrune.Runtime.SessionSettings { IntraOpThreads = 2 }, 1)
            .Should().Contain("2 intra-op threads").And.Contain("batch 1").And.Contain("CPUExecutionProvider");
    }
}
