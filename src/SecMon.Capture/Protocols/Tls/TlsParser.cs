using System.Buffers.Binary;

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
        if (data.Length < 5)
        {
            contentType = 0;
            version = 0;
            length = 0;
            return false;
        }

        contentType = data[0];
        version = BinaryPrimitives.ReadUInt16BigEndian(data[1..]);
        length = BinaryPrimitives.ReadUInt16BigEndian(data[3..]);
        return true;
    }

    /// <summary>True when a record header is plausible: a known content type, version 3.x, length within bounds.</summary>
    public static bool IsPlausibleRecord(byte contentType, ushort version, int length) =>
        contentType is >= ContentChangeCipherSpec and <= ContentApplicationData
        && (version >> 8) == 3 && (version & 0xFF) <= 4
        && length is > 0 and <= MaxRecordBody;

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

    /// <summary>Parses a ClientHello body (after the 4-byte handshake header). False when malformed.</summary>
    public static bool TryReadClientHello(ReadOnlySpan<byte> body, out ClientHello hello)
    {
        hello = default;
        var r = new Reader(body);
        if (!r.U16(out var legacyVersion) || !r.Skip(32) || !r.Vec8(out _) || !r.Vec16(out var ciphers) || !r.Vec8(out _))
        {
            return false;
        }

        string? sni = null;
        List<string>? alpn = null;
        var versions = new List<string>();
        ushort highest = legacyVersion;
        if (r.Remaining > 0)
        {
            if (!r.Vec16(out var extensions))
            {
                return false;
            }

            var e = new Reader(extensions);
            while (e.Remaining > 0)
            {
                if (!e.U16(out var type) || !e.Vec16(out var ext))
                {
                    return false;
                }

                switch (type)
                {
                    case 0: // server_name (RFC 6066 §3)
                        var s = new Reader(ext);
                        if (s.Vec16(out var list))
                        {
                            var l = new Reader(list);
                            if (l.U8(out var nameType) && nameType == 0 && l.Vec16(out var host) && host.Length <= 255)
                            {
                                sni = System.Text.Encoding.ASCII.GetString(host);
                            }
                        }

                        break;
                    case 16: // ALPN (RFC 7301 §3.1)
                        var a = new Reader(ext);
                        if (a.Vec16(out var protocols))
                        {
                            alpn = [];
                            var p = new Reader(protocols);
                            while (p.Remaining > 0 && p.Vec8(out var name) && alpn.Count < 16)
                            {
                                alpn.Add(System.Text.Encoding.ASCII.GetString(name));
                            }
                        }

                        break;
                    case 43: // supported_versions (RFC 8446 §4.2.1)
                        var v = new Reader(ext);
                        if (v.Vec8(out var vs))
                        {
                            var vr = new Reader(vs);
                            while (vr.U16(out var ver))
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
        return true;
    }

    /// <summary>Parses a ServerHello body. False when malformed.</summary>
    public static bool TryReadServerHello(ReadOnlySpan<byte> body, out ServerHello hello)
    {
        hello = default;
        var r = new Reader(body);
        if (!r.U16(out var legacyVersion) || !r.Skip(32) || !r.Vec8(out _) || !r.U16(out var cipher) || !r.U8(out _))
        {
            return false;
        }

        var version = legacyVersion;
        string? alpn = null;
        var resumed = false;
        if (r.Remaining > 0 && r.Vec16(out var extensions))
        {
            var e = new Reader(extensions);
            while (e.Remaining > 0 && e.U16(out var type) && e.Vec16(out var ext))
            {
                var x = new Reader(ext);
                if (type == 43 && x.U16(out var selected))
                {
                    version = selected;
                }
                else if (type == 41)
                {
                    resumed = true; // pre_shared_key (RFC 8446 §4.2.11): a resumed session, no certificates sent
                }
                else if (type == 16 && x.Vec16(out var list))
                {
                    var l = new Reader(list);
                    if (l.Vec8(out var name))
                    {
                        alpn = System.Text.Encoding.ASCII.GetString(name);
                    }
                }
            }
        }

        hello = new ServerHello(VersionName(version), version, cipher, alpn, resumed);
        return true;
    }

    /// <summary>Reads the certificate_list of a TLS 1.2 Certificate message: the count and the leaf's DER.</summary>
    public static bool TryReadCertificateList(ReadOnlySpan<byte> body, out int count, out ReadOnlySpan<byte> leaf)
    {
        count = 0;
        leaf = default;
        var r = new Reader(body);
        if (!r.Vec24(out var list))
        {
            return false;
        }

        var l = new Reader(list);
        while (l.Remaining > 0)
        {
            if (!l.Vec24(out var cert))
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

    /// <summary>Bounds-checked big-endian reader over a span (every read checks its length first).</summary>
    private ref struct Reader
    {
        private ReadOnlySpan<byte> _data;

        public Reader(ReadOnlySpan<byte> data) => _data = data;

        public readonly int Remaining => _data.Length;

        public bool U8(out byte v)
        {
            v = 0;
            if (_data.Length < 1)
            {
                return false;
            }

            v = _data[0];
            _data = _data[1..];
            return true;
        }

        public bool U16(out ushort v)
        {
            v = 0;
            if (_data.Length < 2)
            {
                return false;
            }

            v = BinaryPrimitives.ReadUInt16BigEndian(_data);
            _data = _data[2..];
            return true;
        }

        public bool Skip(int n)
        {
            if (_data.Length < n)
            {
                return false;
            }

            _data = _data[n..];
            return true;
        }

        public bool Vec8(out ReadOnlySpan<byte> v) => U8(out var n) ? Take(n, out v) : Fail(out v);

        public bool Vec16(out ReadOnlySpan<byte> v) => U16(out var n) ? Take(n, out v) : Fail(out v);

        public bool Vec24(out ReadOnlySpan<byte> v)
        {
            if (_data.Length < 3)
            {
                return Fail(out v);
            }

            var n = (_data[0] << 16) | (_data[1] << 8) | _data[2];
            _data = _data[3..];
            return Take(n, out v);
        }

        private bool Take(int n, out ReadOnlySpan<byte> v)
        {
            if (_data.Length < n)
            {
                return Fail(out v);
            }

            v = _data[..n];
            _data = _data[n..];
            return true;
        }

        private static bool Fail(out ReadOnlySpan<byte> v)
        {
            v = default;
            return false;
        }
    }
}
