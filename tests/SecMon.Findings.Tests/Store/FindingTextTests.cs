using System.Text;
using SecMon.Core.Findings;
using SecMon.Findings.Store;

namespace SecMon.Findings.Tests.Store;

public sealed class FindingTextTests
{
    [Theory]
    [InlineData("10.0.0.1", "10.0.0.1")]
    [InlineData("255.255.255.255", "255.255.255.255")]
    [InlineData("010.0.0.1", "8.0.0.1")] // inet_aton reads a leading zero as octal, as IPAddress does
    [InlineData("10.1", "10.0.0.1")]
    [InlineData("2001:DB8:0::1", "2001:db8::1")]
    [InlineData("::ffff:10.0.0.1", "::ffff:10.0.0.1")]
    [InlineData("not an ip", "not an ip")]
    [InlineData("10.0.0.256", "10.0.0.256")]
    [InlineData("10.0.0.", "10.0.0.")]
    public void CanonicalIp_FormsOfOneAddress_OneText(string input, string expected)
    {
        Assert.Equal(expected, FindingText.CanonicalIp(input));
    }

    [Fact]
    public void Build_SameFindingAnyEvidenceOrder_SameText()
    {
        var f = TestFindings.Full();
        var a = new StringBuilder();
        var b = new StringBuilder();

        FindingText.Build(f, a);
        FindingText.Build(f with { Evidence = f.Evidence.Reverse().ToDictionary() }, b);

        Assert.Equal(a.ToString(), b.ToString());
    }

    [Fact]
    public void Build_FilterTokensAndNoRepeats()
    {
        var f = TestFindings.Full() with { Severity = Severity.High };
        var sb = new StringBuilder();

        FindingText.Build(f, sb);
        var text = sb.ToString();

        Assert.Contains(FindingText.RuleToken(f.RuleId), text, StringComparison.Ordinal);
        Assert.Contains(FindingText.DeviceToken(f.DeviceId!), text, StringComparison.Ordinal);
        Assert.Contains(FindingText.SourceIpToken("10.0.0.17"), text, StringComparison.Ordinal);
        Assert.Contains(" zv47 zv73", text, StringComparison.Ordinal);
        Assert.DoesNotContain("zv99", text, StringComparison.Ordinal);
        // The device id equals the source MAC: once. "admin" (mqtt.username, related.user, user.name) is in the
        // message already: not repeated.
        Assert.Equal(1, Count(text, "00-1A-2B-3C-4D-5E"));
        Assert.Equal(Count(f.Message, "admin"), Count(text, "admin"));
        Assert.Contains("plant/#", text, StringComparison.Ordinal);
        Assert.DoesNotContain("0123456789abcdef", text, StringComparison.Ordinal); // password hash is not searchable text
    }

    [Theory]
    [InlineData(0, null)]
    [InlineData(21, null)]
    [InlineData(47, "zv47")]
    [InlineData(60, "zv47")]
    [InlineData(73, "zv73")]
    [InlineData(100, "zv99")]
    public void SeverityToken_HighestBandAtOrBelow(int min, string? expected)
    {
        Assert.Equal(expected, FindingText.SeverityToken(min));
    }

    private static int Count(string text, string value)
    {
        var n = 0;
        for (var i = text.IndexOf(value, StringComparison.Ordinal); i >= 0; i = text.IndexOf(value, i + 1, StringComparison.Ordinal))
        {
            n++;
        }

        return n;
    }
}
