using SecMon.Est;

namespace SecMon.Tests.Cli;

/// <summary>What <c>secmon serve</c> says at start about where it listens.</summary>
public class ServeListenersTests
{
    [Fact]
    public void DescribeListeners_DefaultWildcards_NamesThemAndHowToRestrict()
    {
        var lines = PkiServer.DescribeListeners(new Uri("https://0.0.0.0:8443"), new Uri("http://0.0.0.0:8080"));

        Assert.Equal(2, lines.Count);
        Assert.Equal("listening on 0.0.0.0:8443 (HTTPS: EST) and 0.0.0.0:8080 (HTTP: CRL, OCSP)", lines[0]);
        Assert.StartsWith("0.0.0.0:8443 and 0.0.0.0:8080: every address of this host accepts connections", lines[1], StringComparison.Ordinal);
        Assert.Contains("--https 127.0.0.1:8443 --http 127.0.0.1:8080", lines[1], StringComparison.Ordinal);
    }

    [Fact]
    public void DescribeListeners_Ipv6WildcardHttpsOnly_Flagged()
    {
        var lines = PkiServer.DescribeListeners(new Uri("https://[::]:9443"), null);

        Assert.Equal("listening on [::]:9443 (HTTPS: EST); no HTTP listener (CRL, OCSP)", lines[0]);
        Assert.StartsWith("[::]:9443: every address", lines[1], StringComparison.Ordinal);
        Assert.DoesNotContain("--http ", lines[1], StringComparison.Ordinal);
    }

    [Fact]
    public void DescribeListeners_OneAddress_NoWarning()
    {
        var lines = PkiServer.DescribeListeners(new Uri("https://10.0.0.2:8443"), new Uri("http://127.0.0.1:8080"));

        Assert.Equal(["listening on 10.0.0.2:8443 (HTTPS: EST) and 127.0.0.1:8080 (HTTP: CRL, OCSP)"], lines);
    }
}
