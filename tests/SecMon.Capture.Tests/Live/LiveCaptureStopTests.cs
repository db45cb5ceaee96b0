using SecMon.Capture.Sources;
using SecMon.Testing;

namespace SecMon.Capture.Tests.Live;

/// <summary>
/// Stopping a live capture on a quiet interface: the reader thread waits inside libpcap (TPACKET_V3 polls without a
/// timeout while no block fills), so only <c>pcap_breakloop</c> brings it back. Loopback with a filter nothing on this
/// machine matches (a port of TEST-NET-1) stands for a quiet interface: no packet ever reaches the reader.
/// </summary>
public sealed class LiveCaptureStopTests
{
    [RequiresRootFact]
    public void Stop_ReaderWaitingOnAQuietInterface_ReturnsAndItsHandleIsReleased()
    {
        var stats = new CaptureStats();
        using var live = LiveCapture.TryOpen("lo", "udp and host 192.0.2.77 and port 9", stats, out var error);
        Assert.True(live is not null, error);
        live.Start();
        Thread.Sleep(1500); // past the 100 ms read timeout and the reader's first statistics second: it is inside libpcap

        live.Stop();

        // Before pcap_breakloop the reader was still inside libpcap after the 2 s join: its handle was kept open until the
        // process's exit and its statistics were not read at the stop.
        Assert.True(live.ReadersStopped, "the reader thread is still inside libpcap after Stop");
    }
}
