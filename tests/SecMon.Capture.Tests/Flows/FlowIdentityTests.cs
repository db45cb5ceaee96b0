using SecMon.Capture.Decoding;
using SecMon.Capture.Flows;

namespace SecMon.Capture.Tests.Flows;

public sealed class FlowIdentityTests
{
    // Values from the specification's baseline (corelight/community-id-spec, baseline/baseline_deflt.json).
    [Theory]
    [InlineData("128.232.110.120", 34855, "66.35.250.204", 80, 6, "1:LQU9qZlK+B5F3KDmev6m5PMibrg=")]
    [InlineData("66.35.250.204", 80, "128.232.110.120", 34855, 6, "1:LQU9qZlK+B5F3KDmev6m5PMibrg=")]
    [InlineData("192.168.1.52", 54585, "8.8.8.8", 53, 17, "1:d/FP5EW3wiY1vCndhwleRRKHowQ=")]
    [InlineData("8.8.8.8", 53, "192.168.1.52", 54585, 17, "1:d/FP5EW3wiY1vCndhwleRRKHowQ=")]
    [InlineData("2001:470:e5bf:dead:4957:2174:e82c:4887", 63943, "2607:f8b0:400c:c03::1a", 25, 6, "1:/qFaeAR+gFe1KYjMzVDsMv+wgU4=")]
    [InlineData("2607:f8b0:400c:c03::1a", 25, "2001:470:e5bf:dead:4957:2174:e82c:4887", 63943, 6, "1:/qFaeAR+gFe1KYjMzVDsMv+wgU4=")]
    public void ComputeCommunityId_SpecBaseline_MatchesPublishedValue(string source, int sourcePort, string destination,
        int destinationPort, int protocol, string expected)
    {
        var id = FlowIdentity.ComputeCommunityId(IpAddress.Parse(source), (ushort)sourcePort, IpAddress.Parse(destination),
                                                 (ushort)destinationPort, (byte)protocol);

        Assert.Equal(expected, id);
    }

    [Fact]
    public void ComputeCommunityId_SameAddressBothEnds_OrdersByPort()
    {
        var a = FlowIdentity.ComputeCommunityId(IpAddress.Parse("127.0.0.1"), 40000, IpAddress.Parse("127.0.0.1"), 1883, 6);
        var b = FlowIdentity.ComputeCommunityId(IpAddress.Parse("127.0.0.1"), 1883, IpAddress.Parse("127.0.0.1"), 40000, 6);

        Assert.Equal(a, b);
        Assert.StartsWith("1:", a, StringComparison.Ordinal);
        Assert.Equal(20, Convert.FromBase64String(a[2..]).Length);
    }

    [Fact]
    public void ComputeFlowId_SameInput_SameSixteenHexDigits()
    {
        var a = Id(1_700_000_000_000_000);
        var b = Id(1_700_000_000_000_000);

        Assert.Equal(a, b);
        Assert.Matches("^[0-9a-f]{16}$", a);
    }

    [Fact]
    public void ComputeFlowId_DifferentTimestampPortOrDirection_DiffersEachTime()
    {
        var ids = new[]
        {
            Id(1_700_000_000_000_000),
            Id(1_700_000_000_000_001),
            FlowIdentity.ComputeFlowId(IpAddress.Parse("10.0.0.2"), 50001, IpAddress.Parse("10.0.0.1"), 1883, 6, 0, 1_700_000_000_000_000),
            FlowIdentity.ComputeFlowId(IpAddress.Parse("10.0.0.1"), 1883, IpAddress.Parse("10.0.0.2"), 50000, 6, 0, 1_700_000_000_000_000),
            FlowIdentity.ComputeFlowId(IpAddress.Parse("10.0.0.2"), 50000, IpAddress.Parse("10.0.0.1"), 1883, 17, 0, 1_700_000_000_000_000),
            FlowIdentity.ComputeFlowId(IpAddress.Parse("10.0.0.2"), 50000, IpAddress.Parse("10.0.0.1"), 1883, 6, 5, 1_700_000_000_000_000),
        };

        Assert.Equal(ids.Length, ids.Distinct().Count());
    }

    [Fact]
    public void FlowKey_BothDirections_SameKeyAndOppositeSide()
    {
        var a = IpAddress.Parse("10.0.0.2");
        var b = IpAddress.Parse("10.0.0.1");

        var k1 = FlowKey.Create(a, 50000, b, 1883, 6, 0, out var firstIsA);
        var k2 = FlowKey.Create(b, 1883, a, 50000, 6, 0, out var secondIsA);
        var otherVlan = FlowKey.Create(a, 50000, b, 1883, 6, 7, out _);

        Assert.Equal(k1, k2);
        Assert.Equal(k1.GetHashCode(), k2.GetHashCode());
        Assert.NotEqual(firstIsA, secondIsA);
        Assert.NotEqual(k1, otherVlan);
    }

    [Fact]
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Security", "CA5350:Do Not Use Weak Cryptographic Algorithms",
        Justification = "The platform's SHA-1 is the reference the Community ID's own SHA-1 is checked against.")]
    public void Sha1OneBlock_EveryLengthUpTo55_MatchesPlatformSha1()
    {
        var random = new Random(1);
        Span<byte> expected = stackalloc byte[20];
        Span<byte> actual = stackalloc byte[20];
        for (var length = 0; length <= 55; length++)
        {
            for (var k = 0; k < 200; k++)
            {
                var input = new byte[length];
                random.NextBytes(input);
                if (k == 1)
                {
                    input.AsSpan().Fill(0xFF);
                }

                System.Security.Cryptography.SHA1.HashData(input, expected);
                FlowIdentity.Sha1OneBlock(input, actual);
                Assert.True(expected.SequenceEqual(actual), $"length {length}, input {Convert.ToHexString(input)}");
            }
        }

        Assert.Throws<ArgumentOutOfRangeException>(() => FlowIdentity.Sha1OneBlock(new byte[56], new byte[20]));
    }

    private static string Id(long micros) =>
        FlowIdentity.ComputeFlowId(IpAddress.Parse("10.0.0.2"), 50000, IpAddress.Parse("10.0.0.1"), 1883, 6, 0, micros);
}
