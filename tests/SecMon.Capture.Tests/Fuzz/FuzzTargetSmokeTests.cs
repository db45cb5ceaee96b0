using SecMon.Fuzz;
using SecMon.Testing;

namespace SecMon.Capture.Tests.Fuzz;

/// <summary>
/// The fuzz harness's targets (tests/SecMon.Fuzz), in-process and without AFL: every target over its seeds (the flows of
/// the recorded samples its probe claims) and a few hundred deterministic mutations of them (truncations, bit flips,
/// length fields at their extremes). No exception may leave a target. A smoke test that the harness works and that the
/// seeds reach the parsers; the long runs are tests/SecMon.Fuzz/run.sh.
/// </summary>
public sealed class FuzzTargetSmokeTests
{
    private const int MutantsPerTarget = 300;

    private static readonly Lazy<Dictionary<string, List<byte[]>>> Seeds = new(() =>
        PcapSeeds.FromCaptures(PcapSeeds.SampleFiles(Path.Combine(RepoPaths.Root, "tests", "SecMon.Capture.Tests", "Protocols"))));

    public static TheoryData<string> Targets() => [.. FuzzTargets.Names];

    [Theory]
    [MemberData(nameof(Targets))]
    public void Target_SeedsAndMutants_NoExceptionAndSeedsReachTheParser(string target)
    {
        var protocol = FuzzTargets.Find(target);
        Assert.NotNull(protocol);
        Assert.True(Seeds.Value.TryGetValue(target, out var seeds) && seeds.Count > 0, $"no seed for target {target}");

        // The seeds are real traffic: they produce events (the framing reaches the session).
        var events = 0;
        for (var i = 0; i < seeds.Count; i++)
        {
            events += RunOrFail(protocol, seeds[i], $"{target} seed {i}").Events;
        }

        Assert.True(events > 0, $"{target}: {seeds.Count} seeds produced no event");

        var random = new Random(15);
        for (var n = 0; n < MutantsPerTarget; n++)
        {
            var seedIndex = n % seeds.Count;
            var (mutant, how) = Mutate(seeds[seedIndex], random);
            RunOrFail(protocol, mutant, $"{target} seed {seedIndex} {how}");
        }
    }

    [Fact]
    public void FuzzInput_WriteThenRead_RoundTripsAndKeepsACutRecord()
    {
        using var s = new MemoryStream();
        FuzzInput.Write(s, FuzzInput.ToClient, [1, 2, 3]);
        FuzzInput.Write(s, 0, [4, 5, 6, 7]);
        var input = s.ToArray()[..^2]; // the second record cut short
        var offset = 0;
        Assert.True(FuzzInput.TryNext(input, ref offset, out var flags, out var payload));
        Assert.Equal(FuzzInput.ToClient, flags);
        Assert.Equal(new byte[] { 1, 2, 3 }, payload.ToArray());
        Assert.True(FuzzInput.TryNext(input, ref offset, out flags, out payload));
        Assert.Equal(0, flags);
        Assert.Equal(new byte[] { 4, 5 }, payload.ToArray());
        Assert.False(FuzzInput.TryNext(input, ref offset, out _, out _));
    }

    private static FuzzRun RunOrFail(Capture.Protocols.IProtocol protocol, byte[] input, string what)
    {
        try
        {
            return FuzzTargets.Run(protocol, input);
        }
        catch (Exception e)
        {
            Assert.Fail($"{what}: {e.GetType().Name} left the parser: {e.Message}\ninput: {Convert.ToHexString(input)}\n{e.StackTrace}");
            throw;
        }
    }

    // One mutation of a seed, named for the failure message: a truncation, bit flips, or a 16-bit window set to
    // 0x0000, 0xFFFF or 0x7FFF (length fields at their extremes, wherever they are).
    private static (byte[] Mutant, string How) Mutate(byte[] seed, Random random)
    {
        if (seed.Length == 0)
        {
            return (seed, "empty");
        }

        var m = (byte[])seed.Clone();
        switch (random.Next(3))
        {
            case 0:
                var length = random.Next(seed.Length);
                return (m[..length], $"truncated to {length}");
            case 1:
                var flips = 1 + random.Next(4);
                for (var i = 0; i < flips; i++)
                {
                    var bit = random.Next(m.Length * 8);
                    m[bit / 8] ^= (byte)(1 << (bit % 8));
                }

                return (m, $"{flips} bits flipped");
            default:
                var at = random.Next(Math.Max(1, m.Length - 1));
                ushort value = random.Next(3) switch { 0 => 0, 1 => 0xFFFF, _ => 0x7FFF };
                m[at] = (byte)(value >> 8);
                if (at + 1 < m.Length)
                {
                    m[at + 1] = (byte)value;
                }

                return (m, $"0x{value:X4} at {at}");
        }
    }
}
