using SecMon.Hosting;
using SecMon.Capture;
using SecMon.Capture.Output;
using SecMon.Capture.Protocols;

namespace SecMon.IntegrationTests.Hosting;

public sealed class RunSummaryTests
{
    [Fact]
    public void Write_MalformedMessages_CountedPerProtocolAndReasonMostFrequentFirst()
    {
        var stats = new CaptureStats();
        stats.CountMalformed("tls", MalformedReason.LengthOverflow);
        stats.CountMalformed("mqtt", MalformedReason.Truncated);
        stats.CountMalformed("mqtt", MalformedReason.Truncated);
        stats.CountMalformed("mqtt", MalformedReason.BadFlags);
        var text = new StringWriter();

        RunSummary.Write(text, "x.pcap", stats, new EventCounter(), new DiagnosticReporter(TextWriter.Null), TimeSpan.FromSeconds(1));

        Assert.Contains("  malformed   by protocol and reason: mqtt truncated 2, mqtt bad_flags 1, tls length_overflow 1\n", text.ToString().ReplaceLineEndings("\n"), StringComparison.Ordinal);
        Assert.Contains("messages 4", text.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Write_NothingMalformed_NoReasonLine()
    {
        var text = new StringWriter();

        RunSummary.Write(text, "x.pcap", new CaptureStats(), new EventCounter(), new DiagnosticReporter(TextWriter.Null), TimeSpan.FromSeconds(1));

        Assert.DoesNotContain("by protocol and reason", text.ToString(), StringComparison.Ordinal);
    }
}
