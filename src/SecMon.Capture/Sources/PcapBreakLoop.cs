using System.Runtime.InteropServices;
using SharpPcap.LibPcap;

namespace SecMon.Capture.Sources;

/// <summary>
/// libpcap's <c>pcap_breakloop</c>, which SharpPcap does not expose: it asks a reader blocked in <c>pcap_next_ex</c> on
/// another thread to return (with <c>PCAP_ERROR_BREAK</c>). Looked up in the libpcap that SharpPcap loads (Debian:
/// libpcap0.8's <c>libpcap.so.0.8</c>); where none is found, or on an open handle's absence, it does nothing and the
/// caller's join timeout stands.
/// </summary>
internal static unsafe class PcapBreakLoop
{
    private static readonly delegate* unmanaged<nint, void> BreakLoop = Find();

    /// <summary>Wakes the reader of <paramref name="device"/>, if it is open.</summary>
    public static void Wake(LibPcapLiveDevice device)
    {
        if (BreakLoop == null || device.Handle is not { IsInvalid: false, IsClosed: false } handle)
        {
            return;
        }

        var added = false;
        try
        {
            handle.DangerousAddRef(ref added);
            BreakLoop(handle.DangerousGetHandle());
        }
        finally
        {
            if (added)
            {
                handle.DangerousRelease();
            }
        }
    }

    private static delegate* unmanaged<nint, void> Find()
    {
        foreach (var name in (string[])["libpcap.so.0.8", "libpcap.so.1", "libpcap.so", "wpcap"])
        {
            if (NativeLibrary.TryLoad(name, out var library) && NativeLibrary.TryGetExport(library, "pcap_breakloop", out var export))
            {
                return (delegate* unmanaged<nint, void>)export;
            }
        }

        return null;
    }
}
