using OnnxPrune.Training.Data;

namespace OnnxPrune.Tests.Training.Data;

public class BatchIteratorTests
{
    /// <summary>n samples of 1x2x2 whose every value is the sample's index; label = index % 7.</summary>
    private static Dataset Numbered(int n, int channels = 1, int size = 2)
    {
        var sample = channels * size * size;
        var images = new float[n * sample];
        for (var i = 0; i < n; i++) images.AsSpan(i * sample, sample).Fill(i);
        return new Dataset(images, Enumerable.Range(0, n).Select(i => (long)(i % 7)).ToArray(), channels, size, size, 7, "numbered");
    }

    private static List<int> Epoch(BatchIterator batches, int epoch, List<int>? sizes = null)
    {
        var x = batches.NewImageBuffer();
        var y = batches.NewLabelBuffer();
        var seen = new List<int>();
        batches.StartEpoch(epoch);
        int n;
        while ((n = batches.Next(x, y)) > 0)
        {
            sizes?.Add(n);
            for (var i = 0; i < n; i++)
            {
                var id = (int)x[i * batches.SampleSize];
                x.AsSpan(i * batches.SampleSize, batches.SampleSize).ToArray().Should().OnlyContain(v => v == id);
                y[i].Should().Be(id % 7);
                seen.Add(id);
            }
        }
        return seen;
    }

    [Fact]
    public void Evaluation_visits_every_sample_once_in_order_and_keeps_the_partial_batch()
    {
        var batches = new BatchIterator(Numbered(103), BatchOptions.Evaluation(10));
        batches.BatchesPerEpoch.Should().Be(11);
        batches.SamplesPerEpoch.Should().Be(103);
        var sizes = new List<int>();
        Epoch(batches, 0, sizes).Should().Equal(Enumerable.Range(0, 103));
        sizes.Should().Equal(10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 3);
    }

    [Fact]
    public void Training_visits_every_sample_once_per_epoch_in_a_new_order()
    {
        var batches = new BatchIterator(Numbered(100), BatchOptions.Training(10, seed: 1));
        var first = Epoch(batches, 0);
        var second = Epoch(batches, 1);
        first.Order().Should().Equal(Enumerable.Range(0, 100));
        second.Order().Should().Equal(Enumerable.Range(0, 100));
        first.Should().NotEqual(Enumerable.Range(0, 100));
        second.Should().NotEqual(first);
        batches.Order.ToArray().Should().Equal(second);
    }

    [Fact]
    public void Dropping_the_last_partial_batch_is_an_option()
    {
        var drop = new BatchIterator(Numbered(103), BatchOptions.Training(10, seed: 1));
        drop.BatchesPerEpoch.Should().Be(10);
        drop.SamplesPerEpoch.Should().Be(100);
        var sizes = new List<int>();
        var seen = Epoch(drop, 0, sizes);
        sizes.Should().OnlyContain(s => s == 10).And.HaveCount(10);
        seen.Should().OnlyHaveUniqueItems().And.HaveCount(100);
        Epoch(drop, 1).Except(seen).Should().NotBeEmpty("another epoch drops other samples");

        var keep = new BatchIterator(Numbered(103), BatchOptions.Training(10, seed: 1) with { DropLast = false });
        sizes.Clear();
        Epoch(keep, 0, sizes).Order().Should().Equal(Enumerable.Range(0, 103));
        sizes[^1].Should().Be(3);

        var exact = new BatchIterator(Numbered(30), BatchOptions.Evaluation(10));
        exact.BatchesPerEpoch.Should().Be(3);
        var tiny = new BatchIterator(Numbered(5), BatchOptions.Training(10, 1));
        tiny.BatchesPerEpoch.Should().Be(0);
        Epoch(tiny, 0).Should().BeEmpty();
    }

    [Fact]
    public void A_partial_batch_in_a_full_buffer_clears_the_rest_and_a_small_buffer_fits_it()
    {
        var batches = new BatchIterator(Numbered(13), BatchOptions.Evaluation(10));
        var x = batches.NewImageBuffer();
        var y = batches.NewLabelBuffer();
        batches.StartEpoch(0);
        batches.NextBatchSize.Should().Be(10);
        batches.Next(x, y).Should().Be(10);
        batches.NextBatchSize.Should().Be(3);
        batches.Next(x, y).Should().Be(3);
        x[(3 * 4)..].Should().OnlyContain(v => v == 0);
        y[3..].Should().OnlyContain(v => v == 0);
        batches.NextBatchSize.Should().Be(0);
        batches.Next(x, y).Should().Be(0);

        batches.StartEpoch(1);
        batches.Next(x, y);
        var tailX = batches.NewImageBuffer(batches.NextBatchSize);
        var tailY = batches.NewLabelBuffer(3);
        batches.Next(tailX, tailY).Should().Be(3);
        tailX.Should().Equal(10, 10, 10, 10, 11, 11, 11, 11, 12, 12, 12, 12);

        batches.StartEpoch(0);
        var small = () => batches.Next(new float[39], new long[10]);
        small.Should().Throw<ArgumentException>().WithMessage("*holds 39 floats; this batch of 10 needs 40*");
    }

    [Fact]
    public void Next_without_StartEpoch_starts_epoch_0()
    {
        var batches = new BatchIterator(Numbered(20), BatchOptions.Training(5, seed: 9));
        var x = batches.NewImageBuffer();
        var y = batches.NewLabelBuffer();
        batches.Epoch.Should().Be(-1);
        batches.Next(x, y).Should().Be(5);
        batches.Epoch.Should().Be(0);
        var firstIds = Enumerable.Range(0, 5).Select(i => x[i * 4]).ToArray();
        Epoch(batches, 0).Take(5).Select(i => (float)i).Should().Equal(firstIds);
    }

    [Fact]
    public void Shuffling_is_deterministic_for_a_seed_and_epoch()
    {
        var data = Numbered(200);
        List<int> Order(int seed, int epoch) => Epoch(new BatchIterator(data, BatchOptions.Training(16, seed)), epoch);
        Order(5, 0).Should().Equal(Order(5, 0));
        Order(5, 0).Should().NotEqual(Order(6, 0));
        Order(5, 0).Should().NotEqual(Order(5, 1));

        // Resuming at epoch 3 gives the same batches as running epochs 0..3.
        var running = new BatchIterator(data, BatchOptions.Training(16, 5));
        for (var e = 0; e < 3; e++) Epoch(running, e);
        Epoch(running, 3).Should().Equal(Order(5, 3));
    }

    [Fact]
    public void Augmentation_in_batches_is_deterministic_for_a_seed()
    {
        var rng = new Random(0);
        var images = Enumerable.Range(0, 50 * 3 * 6 * 6).Select(_ => (float)rng.NextDouble() + 0.1f).ToArray();
        var data = new Dataset(images, new long[50], 3, 6, 6, 1, "random");
        float[] Run(int seed, int epoch)
        {
            var batches = new BatchIterator(data, BatchOptions.Training(8, seed, new Augmentation(2, true)));
            var x = batches.NewImageBuffer();
            var y = batches.NewLabelBuffer();
            var all = new List<float>();
            batches.StartEpoch(epoch);
            while (batches.Next(x, y) > 0) all.AddRange(x);
            return all.ToArray();
        }
        Run(1, 0).Should().Equal(Run(1, 0));
        Run(1, 0).Should().NotEqual(Run(2, 0));
        Run(1, 0).Should().NotEqual(Run(1, 1));
        Run(1, 0).Should().Contain(0f, "padding shows up as zeros");

        // The same shuffle order as without augmentation: the two use separate random streams.
        var plain = new BatchIterator(data, BatchOptions.Training(8, 1));
        var augmented = new BatchIterator(data, BatchOptions.Training(8, 1, Augmentation.Standard()));
        plain.StartEpoch(0);
        augmented.StartEpoch(0);
        plain.Order.ToArray().Should().Equal(augmented.Order.ToArray());
    }

    [Fact]
    public void Normalization_is_applied_after_augmentation_and_the_data_is_untouched()
    {
        var data = Numbered(4, channels: 2, size: 3);
        var norm = new ChannelNormalization([1f, 2f], [2f, 4f]);
        var batches = new BatchIterator(data, BatchOptions.Evaluation(4, norm));
        var x = batches.NewImageBuffer();
        batches.Next(x, batches.NewLabelBuffer());
        // Sample 3, channel 1: (3 - 2) / 4.
        x[3 * 18 + 9].Should().Be(0.25f);
        x[3 * 18].Should().Be(1f);
        data.Images[3 * 18].Should().Be(3f);

        var padded = new BatchIterator(data, BatchOptions.Training(4, 0, new Augmentation(CropPadding: 3), norm));
        var xs = padded.NewImageBuffer();
        var found = false;
        for (var epoch = 0; epoch < 20 && !found; epoch++)
        {
            padded.StartEpoch(epoch);
            padded.Next(xs, padded.NewLabelBuffer());
            found = xs.Contains(-0.5f); // a zero-padded channel-0 pixel, normalised: (0 - 1) / 2
        }
        found.Should().BeTrue("padding is zero before normalisation");

        var wrong = () => new BatchIterator(data, BatchOptions.Evaluation(4, ChannelNormalization.Identity(1)));
        wrong.Should().Throw<DataFormatException>();
        var size = () => new BatchIterator(data, BatchOptions.Evaluation(0));
        size.Should().Throw<ArgumentOutOfRangeException>();
    }

    [Fact]
    public void An_epoch_of_batches_allocates_next_to_nothing()
    {
        var rng = new Random(1);
        var n = 2000;
        var images = new float[n * 28 * 28];
        for (var i = 0; i < images.Length; i++) images[i] = (float)rng.NextDouble();
        var data = new Dataset(images, Enumerable.Range(0, n).Select(i => (long)(i % 10)).ToArray(), 1, 28, 28, 10, "random");
        var norm = ChannelNormalization.Compute(data);
        var options = BatchOptions.Training(64, 3, Augmentation.Standard(), norm) with { DropLast = false };
        var batches = new BatchIterator(data, options);
        var x = batches.NewImageBuffer();
        var y = batches.NewLabelBuffer();

        long RunEpoch(int epoch)
        {
            var before = GC.GetAllocatedBytesForCurrentThread();
            batches.StartEpoch(epoch);
            var count = 0;
            int got;
            while ((got = batches.Next(x, y)) > 0) count += got;
            var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            count.Should().Be(n);
            return allocated;
        }

        RunEpoch(0); // warm-up (JIT, tiering)
        RunEpoch(1);
        var bytes = RunEpoch(2);
        // 32 batches of 64 x 784 floats (200 KB each); the per-epoch Random objects are a few hundred bytes.
        bytes.Should().BeLessThan(2048, "batches are written into the caller's buffers");

        batches.StartEpoch(3);
        var start = GC.GetAllocatedBytesForCurrentThread();
        while (batches.Next(x, y) > 0) { }
        (GC.GetAllocatedBytesForCurrentThread() - start).Should().BeLessThan(64, "Next itself allocates nothing");
    }
}
