using System.Buffers.Binary;
using SecMon.Core.Flows;

namespace SecMon.Capture.Protocols.Dns;

/// <summary>
/// DNS over TCP: each message behind a 2-byte length (RFC 1035 §4.2.2, RFC 7766). Each direction buffers at most one
/// message (<see cref="DnsOptions.MaxTcpMessageBytes"/>); a larger declared length is reported and skipped by its length,
/// never buffered. A gap, or a session started mid-stream whose first frame does not decode, stops that direction:
/// length-prefixed frames cannot be found again reliably.
/// </summary>
internal sealed class DnsStreamSession : IStreamSession
{
    private readonly DnsConversation _conversation;
    private readonly ProtocolServices _services;
    private readonly int _max;
    private readonly Direction _client;
    private readonly Direction _server;

    /// <summary>Creates the session of one TCP flow.</summary>
    public DnsStreamSession(FlowContext flow, ProtocolServices services, DnsOptions options, bool midStream)
    {
        _conversation = new DnsConversation(flow, services, options);
        _services = services;
        _max = Math.Clamp(options.MaxTcpMessageBytes, 512, 65_535);
        _client = new Direction(_max, midStream);
        _server = new Direction(_max, midStream);
    }

    /// <inheritdoc />
    public void OnData(FlowDirection direction, ReadOnlySpan<byte> data, in PacketMeta meta)
    {
        var d = direction == FlowDirection.ToServer ? _client : _server;
        while (!data.IsEmpty && !d.Done)
        {
            if (d.Skip > 0)
            {
                var n = (int)Math.Min(d.Skip, data.Length);
                d.Skip -= n;
                data = data[n..];
                continue;
            }

            // Fast path: whole messages straight from the segment, no copy.
            if (d.Buffer.Length == 0 && data.Length >= 2)
            {
                var length = BinaryPrimitives.ReadUInt16BigEndian(data);
                if (data.Length >= 2 + length && length <= _max)
                {
                    Message(direction, d, data.Slice(2, length), meta);
                    data = data[(2 + length)..];
                    continue;
                }
            }

            if (d.Buffer.Length < 2)
            {
                var head = Math.Min(data.Length, 2 - d.Buffer.Length);
                d.Buffer.Append(data[..head]);
                data = data[head..];
                continue;
            }

            var declared = BinaryPrimitives.ReadUInt16BigEndian(d.Buffer.Span);
            if (declared > _max)
            {
                var error = new ParseError(MalformedReason.TooLarge, "length", $"{declared} bytes, above the {_max}-byte bound");
                _services.Stats.CountMalformed("dns", error.Reason);
                _services.Diagnostics.ReportMalformed(meta, "dns", error.Reason, $"dns: {error}");
                d.Skip = declared;
                d.Buffer.Consume(2);
                continue;
            }

            var take = Math.Min(data.Length, 2 + declared - d.Buffer.Length);
            d.Buffer.Append(data[..take]);
            data = data[take..];
            if (d.Buffer.Length == 2 + declared)
            {
                Message(direction, d, d.Buffer.Span[2..], meta);
                d.Buffer.Consume(2 + declared);
            }
        }

        if (d.Done)
        {
            d.Buffer.Release();
        }
    }

    private void Message(FlowDirection direction, Direction d, ReadOnlySpan<byte> message, in PacketMeta meta)
    {
        if (d.MidStream)
        {
            // Not seen from its start: check the frame quietly before trusting the alignment.
            if (DnsDecoder.Walk(message, null, DnsProtocol.ProbeOptions, mdns: false).IsError)
            {
                d.Done = true;
                return;
            }

            d.MidStream = false;
        }

        _conversation.OnMessage(direction, message, meta);
    }

    /// <inheritdoc />
    public void OnGap(FlowDirection direction, long length, in PacketMeta meta)
    {
        var d = direction == FlowDirection.ToServer ? _client : _server;
        d.Done = true;
        d.Buffer.Release();
    }

    /// <inheritdoc />
    public void OnClose(in PacketMeta meta)
    {
        foreach (var d in (Direction[])[_client, _server])
        {
            if (d.Buffer.Length > 0 && !d.Done)
            {
                var error = new ParseError(MalformedReason.Truncated, "message", $"the connection ended {d.Buffer.Length} bytes into a message");
                _services.Stats.CountMalformed("dns", error.Reason);
                _services.Diagnostics.ReportMalformed(meta, "dns", error.Reason, $"dns: {error}");
            }

            d.Buffer.Release();
        }

        _conversation.OnClose();
    }

    private sealed class Direction(int max, bool midStream)
    {
        public readonly GrowableBuffer Buffer = new(max + 2);
        public bool MidStream = midStream;
        public bool Done;
        public long Skip;
    }
}
