namespace SecMon.Capture.Protocols.Tls;

/// <summary>Stateless span readers for the cleartext part of TLS: record headers and the hello messages.</summary>
internal static class TlsParser
{
    /// <summary>Record content type handshake (RFC 8446 §5.1).</summary>
    public const byte ContentHandshake = 22;
    /// <summary>Record content type change_cipher_spec.</summary>
    public const byte ContentChangeCipherSpec = 20;
    /// <summary>Record content type alert.</summary>
    public const byte ContentAlert = 21;
    /// <summary>Record content type application_data.</summary>
    public const byte ContentApplicationData = 23;
    /// <summary>Largest record body: 2^14 plus the expansion TLS 1.2 allows (RFC 5246 §6.2.3).</summary>
    public const int MaxRecordBody = 16384 + 2048;

    /// <summary>Reads a record header: content type, legacy version, body length. False when fewer than 5 bytes.</summary>
    public static bool TryReadRecordHeader(ReadOnlySpan<byte> data, out byte contentType, out ushort version, out int length)
    {
        var r = new SpanReader(data);
        var ok = r.TryReadByte(out contentType) & r.TryReadUInt16BE(out version) & r.TryReadUInt16BE(out var n);
        length = n;
        return ok;
    }

    /// <summary>True when a record header is plausible: a known content type, version 3.x, length within bounds.</summary>
    public static bool IsPlausibleRecord(byte contentType, ushort version, int length) =>
        CheckRecord(contentType, version, length) == MalformedReason.None;

    /// <summary>Why a record header is not plausible (<see cref="MalformedReason.None"/> when it is): an unknown
    /// content type (RFC 8446 §5.1), a version other than 3.x, an empty record or one past the bound.</summary>
    public static MalformedReason CheckRecord(byte contentType, ushort version, int length) =>
        contentType is < ContentChangeCipherSpec or > ContentApplicationData ? MalformedReason.UnknownType
        : (version >> 8) != 3 || (version & 0xFF) > 4 ? MalformedReason.BadValue
        : length <= 0 ? MalformedReason.BadLength
        : length > MaxRecordBody ? MalformedReason.TooLarge
        : MalformedReason.None;

    /// <summary>Version name for a wire value (0x0303 → "1.2").</summary>
    public static string VersionName(ushort v) => v switch
    {
        0x0300 => "ssl3",
        0x0301 => "1.0",
        0x0302 => "1.1",
        0x0303 => "1.2",
        0x0304 => "1.3",
        _ when (v & 0x0F0F) == 0x0A0A => "grease",
        _ => $"0x{v:x4}",
    };

    /// <summary>Parses a ClientHello body (after the 4-byte handshake header). False when malformed, with the reason.</summary>
    public static bool TryReadClientHello(ReadOnlySpan<byte> body, out ClientHello hello, out MalformedReason reason)
    {
        hello = default;
        var r = new SpanReader(body);
        if (!r.TryReadUInt16BE(out var legacyVersion) || !r.TrySkip(32) || !r.TryReadVector8(out _) || !r.TryReadVector16(out var ciphers) || !r.TryReadVector8(out _))
        {
            reason = r.Error.Reason;
            return false;
        }

        string? sni = null;
        List<string>? alpn = null;
        var versions = new List<string>();
        ushort highest = legacyVersion;
        if (r.Remaining > 0)
        {
            if (!r.TryReadVector16(out var extensions))
            {
                reason = r.Error.Reason;
                return false;
            }

            var e = new SpanReader(extensions);
            while (e.Remaining > 0)
            {
                if (!e.TryReadUInt16BE(out var type) || !e.TryReadVector16(out var ext))
                {
                    reason = e.Error.Reason;
                    return false;
                }

                switch (type)
                {
                    case 0: // server_name (RFC 6066 §3)
                        var s = new SpanReader(ext);
                        if (s.TryReadVector16(out var list))
                        {
                            var l = new SpanReader(list);
                            if (l.TryReadByte(out var nameType) && nameType == 0 && l.TryReadVector16(out var host) && host.Length <= 255)
                            {
                                sni = System.Text.Encoding.ASCII.GetString(host);
                            }
                        }

                        break;
                    case 16: // ALPN (RFC 7301 §3.1)
                        var a = new SpanReader(ext);
                        if (a.TryReadVector16(out var protocols))
                        {
                            alpn = [];
                            var p = new SpanReader(protocols);
                            while (p.Remaining > 0 && p.TryReadVector8(out var name) && alpn.Count < 16)
                            {
                                alpn.Add(System.Text.Encoding.ASCII.GetString(name));
                            }
                        }

                        break;
                    case 43: // supported_versions (RFC 8446 §4.2.1)
                        var v = new SpanReader(ext);
                        if (v.TryReadVector8(out var vs))
                        {
                            var vr = new SpanReader(vs);
                            while (vr.TryReadUInt16BE(out var ver))
                            {
                                if ((ver & 0x0F0F) == 0x0A0A)
                                {
                                    continue; // GREASE (RFC 8701)
                                }

                                versions.Add(VersionName(ver));
                                if (ver > highest && ver <= 0x0304)
                                {
                                    highest = ver;
                                }
                            }
                        }

                        break;
                    default:
                        break;
                }
            }
        }

        if (versions.Count == 0)
        {
            versions.Add(VersionName(legacyVersion));
        }

        hello = new ClientHello(VersionName(highest), versions, sni, alpn, ciphers.Length / 2);
        reason = MalformedReason.None;
        return true;
    }

    /// <summary>Parses a ServerHello body. False when malformed, with the reason.</summary>
    public static bool TryReadServerHello(ReadOnlySpan<byte> body, out ServerHello hello, out MalformedReason reason)
    {
        hello = default;
        var r = new SpanReader(body);
        if (!r.TryReadUInt16BE(out var legacyVersion) || !r.TrySkip(32) || !r.TryReadVector8(out _) || !r.TryReadUInt16BE(out var cipher) || !r.TryReadByte(out _))
        {
            reason = r.Error.Reason;
            return false;
        }

        var version = legacyVersion;
        string? alpn = null;
        var resumed = false;
        if (r.Remaining > 0 && r.TryReadVector16(out var extensions))
        {
            var e = new SpanReader(extensions);
            while (e.Remaining > 0 && e.TryReadUInt16BE(out var type) && e.TryReadVector16(out var ext))
            {
                var x = new SpanReader(ext);
                if (type == 43 && x.TryReadUInt16BE(out var selected))
                {
                    version = selected;
                }
                else if (type == 41)
                {
                    resumed = true; // pre_shared_key (RFC 8446 §4.2.11): a resumed session, no certificates sent
                }
                else if (type == 16 && x.TryReadVector16(out var list))
                {
                    var l = new SpanReader(list);
                    if (l.TryReadVector8(out var name))
                    {
                        alpn = System.Text.Encoding.ASCII.GetString(name);
                    }
                }
            }
        }

        hello = new ServerHello(VersionName(version), version, cipher, alpn, resumed);
        reason = MalformedReason.None;
        return true;
    }

    /// <summary>Reads the certificate_list of a TLS 1.2 Certificate message: the count and the leaf's DER.</summary>
    public static bool TryReadCertificateList(ReadOnlySpan<byte> body, out int count, out ReadOnlySpan<byte> leaf)
    {
        count = 0;
        leaf = default;
        var r = new SpanReader(body);
        if (!r.TryReadVector24(out var list))
        {
            return false;
        }

        var l = new SpanReader(list);
        while (l.Remaining > 0)
        {
            if (!l.TryReadVector24(out var cert))
            {
                return false;
            }

            if (count == 0)
            {
                leaf = cert;
            }

            count++;
        }

        return true;
    }

    /// <summary>A parsed ClientHello.</summary>
    internal readonly record struct ClientHello(string Version, IReadOnlyList<string> SupportedVersions, string? ServerName, IReadOnlyList<string>? Alpn, int CipherCount);

    /// <summary>A parsed ServerHello.</summary>
    internal readonly record struct ServerHello(string Version, ushort WireVersion, int CipherSuite, string? Alpn, bool Resumed = false);
}
