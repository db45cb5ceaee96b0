// SYNs from ever new sources (10.64.0.0/10, ports 1024-65535) to one server's usual ports, never answered: each is a
// new flow the capture engine must track until it evicts or expires it.
internal sealed class SynFlood
{
    private static readonly byte[] SourceMac = [0x02, 0x00, 0x5e, 0x10, 0x00, 0x01];
    private static readonly byte[] ServerMac = [0x02, 0x00, 0x5e, 0x10, 0x00, 0x02];
    private static readonly ushort[] Ports = [22, 80, 443, 502, 1883, 8883];
    private const uint Server = (10u << 24) | 1; // 10.0.0.1, the bench's broker

    public int Sent { get; private set; }

    public void Next(PcapWriter writer, long timeMicros)
    {
        var n = (uint)Sent++;
        var source = (10u << 24) | (64u << 16) | (n % 4_000_000); // 10.64.0.0/10
        writer.Tcp(timeMicros, SourceMac, ServerMac, source, Server, (ushort)(1024 + (n % 64_000)), Ports[n % (uint)Ports.Length],
            n * 2_654_435_761u, 0, 0x02, []);
    }
}
