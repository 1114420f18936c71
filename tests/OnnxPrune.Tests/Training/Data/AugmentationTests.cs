using OnnxPrune.Training.Data;

namespace OnnxPrune.Tests.Training.Data;

public class AugmentationTests
{
    // Two channels of 3x4: value = 100*c + 10*y + x + 1 (no zeros, so padding is visible).
    private static float[] Image() =>
        [
            1, 2, 3, 4,
            11, 12, 13, 14,
            21, 22, 23, 24,

            101, 102, 103, 104,
            111, 112, 113, 114,
            121, 122, 123, 124,
        ];

    private static float[] Crop(int padding, int top, int left)
    {
        var result = new float[24];
        Array.Fill(result, -7f); // every value must be written
        Augmentation.Crop(Image(), result, 2, 3, 4, padding, top, left);
        return result;
    }

    [Fact]
    public void Crop_at_the_centre_is_the_identity()
    {
        Crop(2, 2, 2).Should().Equal(Image());
        Crop(0, 0, 0).Should().Equal(Image());
    }

    [Fact]
    public void Crop_at_the_top_left_corner_shifts_down_and_right_with_zeros()
    {
        Crop(1, 0, 0).Should().Equal(
            0, 0, 0, 0,
            0, 1, 2, 3,
            0, 11, 12, 13,

            0, 0, 0, 0,
            0, 101, 102, 103,
            0, 111, 112, 113);
    }

    [Fact]
    public void Crop_at_the_bottom_right_corner_shifts_up_and_left_with_zeros()
    {
        Crop(2, 4, 4).Should().Equal(
            23, 24, 0, 0,
            0, 0, 0, 0,
            0, 0, 0, 0,

            123, 124, 0, 0,
            0, 0, 0, 0,
            0, 0, 0, 0);
    }

    [Fact]
    public void Crop_mixed_shifts_and_padding_larger_than_the_image()
    {
        Crop(1, 2, 0).Should().Equal(
            0, 11, 12, 13,
            0, 21, 22, 23,
            0, 0, 0, 0,

            0, 111, 112, 113,
            0, 121, 122, 123,
            0, 0, 0, 0);
        Crop(5, 0, 5).Should().OnlyContain(v => v == 0, "the window lies wholly in the padding");
        Crop(5, 5, 0).Should().OnlyContain(v => v == 0);
    }

    [Fact]
    public void Crop_checks_its_arguments()
    {
        var act = () => Augmentation.Crop(Image(), new float[24], 2, 3, 4, 1, 3, 0);
        act.Should().Throw<ArgumentOutOfRangeException>().WithMessage("*top 3 is outside [0, 2]*");
        var size = () => Augmentation.Crop(Image(), new float[23], 2, 3, 4, 1, 1, 1);
        size.Should().Throw<ArgumentException>();
    }

    [Fact]
    public void Flip_mirrors_every_row_of_every_channel()
    {
        var image = Image();
        Augmentation.FlipHorizontal(image, 2, 3, 4);
        image.Should().Equal(
            4, 3, 2, 1,
            14, 13, 12, 11,
            24, 23, 22, 21,

            104, 103, 102, 101,
            114, 113, 112, 111,
            124, 123, 122, 121);
        Augmentation.FlipHorizontal(image, 2, 3, 4);
        image.Should().Equal(Image());

        float[] odd = [1, 2, 3, 4, 5, 6];
        Augmentation.FlipHorizontal(odd, 1, 2, 3);
        odd.Should().Equal(3, 2, 1, 6, 5, 4);
    }

    [Fact]
    public void Apply_draws_every_crop_offset_and_flips_about_half_the_time()
    {
        var aug = new Augmentation(CropPadding: 1, HorizontalFlip: true);
        var random = new Random(5);
        var seen = new HashSet<string>();
        var flips = 0;
        var output = new float[24];
        for (var trial = 0; trial < 2000; trial++)
        {
            aug.Apply(Image(), output, 2, 3, 4, random);
            // Identify which of the 9 crops x 2 flips this is by comparing with the explicit operations.
            var found = false;
            for (var top = 0; top <= 2 && !found; top++)
                for (var left = 0; left <= 2 && !found; left++)
                    for (var flip = 0; flip <= 1 && !found; flip++)
                    {
                        var expected = Crop(1, top, left);
                        if (flip == 1) Augmentation.FlipHorizontal(expected, 2, 3, 4);
                        if (!expected.AsSpan().SequenceEqual(output)) continue;
                        found = true;
                        seen.Add($"{top},{left},{flip}");
                        flips += flip;
                    }
            found.Should().BeTrue("every output is one crop, flipped or not");
        }
        seen.Should().HaveCount(18);
        flips.Should().BeInRange(900, 1100);
    }

    [Fact]
    public void Apply_is_deterministic_for_a_seed_and_differs_between_seeds()
    {
        var aug = Augmentation.Standard();
        float[] Run(int seed)
        {
            var random = new Random(seed);
            var image = Enumerable.Range(0, 3 * 8 * 8).Select(i => (float)i + 1).ToArray();
            var all = new List<float>();
            var output = new float[image.Length];
            for (var i = 0; i < 20; i++)
            {
                aug.Apply(image, output, 3, 8, 8, random);
                all.AddRange(output);
            }
            return all.ToArray();
        }
        Run(1).Should().Equal(Run(1));
        Run(1).Should().NotEqual(Run(2));
    }

    [Fact]
    public void None_copies()
    {
        var output = new float[24];
        Augmentation.None.Apply(Image(), output, 2, 3, 4, new Random(0));
        output.Should().Equal(Image());
        Augmentation.None.IsNone.Should().BeTrue();
        Augmentation.Standard().Should().Be(new Augmentation(4, true));
    }
}
