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
    /// <summary>The DTLS 1.0 version of OpenSSL before 0.9.8f (its <c>DTLS1_BAD_VER</c>, older than RFC 4347's 0xfeff),
    /// which Cisco AnyConnect's DTLS still speaks; tshark names it "DTLS 1.0 (OpenSSL pre 0.9.8f)". Named and ranked as
    /// DTLS 1.0.</summary>
    public const ushort DtlsBadVersion = 0x0100;

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

    /// <summary>Version name for a wire value (0x0303 → "1.2"; DTLS 0xfefd → "1.2", RFC 6347 §4.1).</summary>
    public static string VersionName(ushort v) => v switch
    {
        0x0002 => "ssl2",
        0x0300 => "ssl3",
        0x0301 => "1.0",
        0x0302 => "1.1",
        0x0303 => "1.2",
        0x0304 => "1.3",
        0xFEFF or DtlsBadVersion => "1.0",
        0xFEFD => "1.2",
        0xFEFC => "1.3",
        _ when (v & 0x0F0F) == 0x0A0A => "grease",
        _ => $"0x{v:x4}",
    };

    /// <summary>Orders TLS and DTLS versions alike (DTLS counts down: 1.0 = 0xfeff, 1.2 = 0xfefd, 1.3 = 0xfefc;
    /// DTLS 1.0 is TLS 1.1's counterpart, RFC 4347 §1); 0 for an unknown value.</summary>
    public static int VersionRank(ushort v) => v switch
    {
        0x0002 => 20,
        >= 0x0300 and <= 0x0304 => v - 0x0300 + 30,
        0xFEFF or DtlsBadVersion => 32,
        0xFEFD => 33,
        0xFEFC => 34,
        _ => 0,
    };

    /// <summary>Bytes of an SSL 2.0-format ClientHello before its lists: the 2-byte record header, msg_type, version and
    /// the three 16-bit lengths (RFC 6101 §E.2.1 as RFC 5246 §E.2 describes it).</summary>
    public const int Ssl2HelloHeader = 11;

    /// <summary>
    /// Checks the start of an SSL 2.0-format ClientHello, the backward-compatible hello of old clients (RFC 5246 §E.2):
    /// a 2-byte record header with its high bit set and a 15-bit length, msg_type 1, the highest version offered
    /// (0x0002 for SSL 2.0 itself, 3.x for SSL 3.0 to TLS 1.3), then the lengths of the cipher specs (3 bytes each),
    /// the session id (0 or 16) and the challenge (16 to 32), which must add up to the record's length.
    /// <see cref="ProbeResult.Mine"/> with the message's whole length (header included), <see cref="ProbeResult.NeedMoreData"/>
    /// while fewer than <see cref="Ssl2HelloHeader"/> bytes decide nothing, else <see cref="ProbeResult.NotMine"/>.
    /// A hello longer than <see cref="MaxRecordBody"/> is not taken (a real one is a few hundred bytes).
    /// </summary>
    public static ProbeResult CheckSsl2ClientHello(ReadOnlySpan<byte> data, out int messageLength)
    {
        messageLength = 0;
        if (data.Length < 1)
        {
            return ProbeResult.NeedMoreData;
        }

        if ((data[0] & 0x80) == 0 || (data.Length >= 3 && data[2] != 1))
        {
            return ProbeResult.NotMine;
        }

        if (data.Length >= 5 && !IsSsl2HelloVersion(System.Buffers.Binary.BinaryPrimitives.ReadUInt16BigEndian(data[3..])))
        {
            return ProbeResult.NotMine;
        }

        if (data.Length < Ssl2HelloHeader)
        {
            return ProbeResult.NeedMoreData;
        }

        var length = ((data[0] & 0x7F) << 8) | data[1];
        var specs = (data[5] << 8) | data[6];
        var sessionId = (data[7] << 8) | data[8];
        var challenge = (data[9] << 8) | data[10];
        if (specs == 0 || specs % 3 != 0 || sessionId is not (0 or 16) || challenge is < 16 or > 32
            || length != Ssl2HelloHeader - 2 + specs + sessionId + challenge || length > MaxRecordBody)
        {
            return ProbeResult.NotMine;
        }

        messageLength = length + 2;
        return ProbeResult.Mine;
    }

    private static bool IsSsl2HelloVersion(ushort v) => v is 0x0002 or (>= 0x0300 and <= 0x0304);

    /// <summary>
    /// Reads an SSL 2.0-format ClientHello that <see cref="CheckSsl2ClientHello"/> accepted (<paramref name="message"/>:
    /// all of it, header included): its version, and of its cipher specs the TLS suites (a spec whose first byte is 0,
    /// RFC 5246 §E.2) into <see cref="ClientHello.Ciphers"/>; the SSL 2.0 kinds, which have no TLS number, only count
    /// (<see cref="ClientHello.CipherCount"/>) and add their weaknesses to <paramref name="ssl2Weakness"/>. Such a hello has no
    /// extensions: no SNI, no ALPN, and no JA3 or JA4 (both are defined on the TLS ClientHello; tshark gives none either).
    /// </summary>
    public static ClientHello ReadSsl2ClientHello(ReadOnlySpan<byte> message, out CipherWeakness ssl2Weakness)
    {
        var version = System.Buffers.Binary.BinaryPrimitives.ReadUInt16BigEndian(message[3..]);
        var specs = message.Slice(Ssl2HelloHeader, (message[5] << 8) | message[6]);
        var h = new ClientHello();
        h.Reset(version, specs.Length / 3);
        ssl2Weakness = CipherWeakness.None;
        for (var i = 0; i + 3 <= specs.Length; i += 3)
        {
            var spec = (specs[i] << 16) | (specs[i + 1] << 8) | specs[i + 2];
            if (specs[i] == 0)
            {
                if (!CipherSuites.IsGrease((ushort)spec))
                {
                    h.Ciphers.Add(spec);
                }
            }
            else
            {
                ssl2Weakness |= Ssl2CipherWeakness(spec);
            }
        }

        h.HighestVersion = version;
        h.Version = VersionName(version);
        h.SupportedVersions = [h.Version];
        return h;
    }

    // The SSL 2.0 cipher kinds (SSL 2.0 draft, appendix C): RC4 and RC2 with 128-bit or export 40-bit keys, IDEA, DES, 3DES.
    private static CipherWeakness Ssl2CipherWeakness(int spec) => spec switch
    {
        0x010080 => CipherWeakness.Rc4,
        0x020080 => CipherWeakness.Rc4 | CipherWeakness.Export,
        0x040080 => CipherWeakness.Export,
        0x060040 => CipherWeakness.Des,
        0x0700C0 => CipherWeakness.TripleDes,
        _ => CipherWeakness.None,
    };

    /// <summary>Parses a ClientHello body (after the handshake header). <paramref name="datagram"/>: DTLS, whose
    /// ClientHello has a cookie after the session id (RFC 6347 §4.2.1). False when malformed, with the reason.
    /// <paramref name="reuse"/>: a hello of an earlier call to fill again (its lists keep their capacity), so a run
    /// parses hellos without allocating the lists JA3 and JA4 are read from; what an event keeps
    /// (<see cref="ClientHello.SupportedVersions"/>, <see cref="ClientHello.Alpn"/>, the names) is made anew.</summary>
    public static bool TryReadClientHello(ReadOnlySpan<byte> body, out ClientHello hello, out MalformedReason reason, bool datagram = false, ClientHello? reuse = null)
    {
        hello = null!;
        var r = new SpanReader(body);
        if (!r.TryReadUInt16BE(out var legacyVersion) || !r.TrySkip(32) || !r.TryReadVector8(out _)
            || (datagram && !r.TryReadVector8(out _)) || !r.TryReadVector16(out var cipherBytes) || !r.TryReadVector8(out _))
        {
            reason = r.Error.Reason;
            return false;
        }

        var h = reuse ?? new ClientHello();
        h.Reset(legacyVersion, cipherBytes.Length / 2);
        var c = new SpanReader(cipherBytes);
        while (c.TryReadUInt16BE(out var suite))
        {
            if (!CipherSuites.IsGrease(suite))
            {
                h.Ciphers.Add(suite);
            }
        }

        var versions = new List<string>();
        var highest = legacyVersion;
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

                if (CipherSuites.IsGrease(type))
                {
                    continue; // RFC 8701: GREASE values say nothing about the client (JA3 and JA4 drop them)
                }

                if (h.Extensions.Count < MaxListed)
                {
                    h.Extensions.Add(type);
                }

                switch (type)
                {
                    case 0: // server_name (RFC 6066 §3)
                        h.HasServerName = true;
                        var s = new SpanReader(ext);
                        if (s.TryReadVector16(out var list))
                        {
                            var l = new SpanReader(list);
                            if (l.TryReadByte(out var nameType) && nameType == 0 && l.TryReadVector16(out var host) && host.Length <= 255)
                            {
                                h.ServerName = System.Text.Encoding.ASCII.GetString(host);
                            }
                        }

                        break;
                    case 10: // supported_groups (RFC 8422 §5.1.1, RFC 8446 §4.2.7)
                        ReadUInt16List(ext, h.Groups);
                        break;
                    case 11: // ec_point_formats (RFC 8422 §5.1.2)
                        var pf = new SpanReader(ext);
                        if (pf.TryReadVector8(out var formats))
                        {
                            foreach (var f in formats[..Math.Min(formats.Length, MaxListed)])
                            {
                                h.PointFormats.Add(f);
                            }
                        }

                        break;
                    case 13: // signature_algorithms (RFC 8446 §4.2.3)
                        ReadUInt16List(ext, h.SignatureAlgorithms);
                        break;
                    case 16: // ALPN (RFC 7301 §3.1)
                        var a = new SpanReader(ext);
                        if (a.TryReadVector16(out var protocols))
                        {
                            h.Alpn = [];
                            var p = new SpanReader(protocols);
                            while (p.Remaining > 0 && p.TryReadVector8(out var name) && h.Alpn.Count < 16)
                            {
                                if (h.Alpn.Count == 0 && !name.IsEmpty)
                                {
                                    h.AlpnFirstByte = name[0];
                                    h.AlpnLastByte = name[^1];
                                }

                                h.Alpn.Add(System.Text.Encoding.ASCII.GetString(name));
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
                                if (CipherSuites.IsGrease(ver))
                                {
                                    continue;
                                }

                                versions.Add(VersionName(ver));
                                if (VersionRank(ver) > VersionRank(highest))
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

        h.HighestVersion = highest;
        h.Version = VersionName(highest);
        h.SupportedVersions = versions;
        hello = h;
        reason = MalformedReason.None;
        return true;
    }

    /// <summary>Most values kept of each list of a hello (extensions, groups, signature algorithms): a real client
    /// sends a few dozen; the rest of a longer list is not kept.</summary>
    public const int MaxListed = 128;

    private static void ReadUInt16List(ReadOnlySpan<byte> ext, List<int> into)
    {
        var r = new SpanReader(ext);
        if (!r.TryReadVector16(out var list))
        {
            return;
        }

        var l = new SpanReader(list);
        while (into.Count < MaxListed && l.TryReadUInt16BE(out var value))
        {
            if (!CipherSuites.IsGrease(value))
            {
                into.Add(value);
            }
        }
    }

    /// <summary>Parses a ServerHello body (the same in TLS and DTLS). False when malformed, with the reason.</summary>
    public static bool TryReadServerHello(ReadOnlySpan<byte> body, out ServerHello hello, out MalformedReason reason)
    {
        hello = default;
        var r = new SpanReader(body);
        var retry = body.Length >= 34 && body.Slice(2, 32).SequenceEqual(HelloRetryRandom);
        if (!r.TryReadUInt16BE(out var legacyVersion) || !r.TrySkip(32)
            || (!IsEarlyTls13Draft(legacyVersion) && !r.TryReadVector8(out _)) || !r.TryReadUInt16BE(out var cipher)
            || (!IsEarlyTls13Draft(legacyVersion) && !r.TryReadByte(out _)))
        {
            reason = r.Error.Reason;
            return false;
        }

        var version = legacyVersion;
        string? alpn = null;
        var resumed = false;
        var extensionTypes = new List<int>();
        if (r.Remaining > 0 && r.TryReadVector16(out var extensions))
        {
            var e = new SpanReader(extensions);
            while (e.Remaining > 0 && e.TryReadUInt16BE(out var type) && e.TryReadVector16(out var ext))
            {
                if (!CipherSuites.IsGrease(type) && extensionTypes.Count < MaxListed)
                {
                    extensionTypes.Add(type);
                }

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

        hello = new ServerHello(VersionName(version), version, cipher, alpn, resumed)
        {
            LegacyVersion = legacyVersion,
            ExtensionTypes = extensionTypes,
            IsHelloRetryRequest = retry,
        };
        reason = MalformedReason.None;
        return true;
    }

    // The random of a HelloRetryRequest: SHA-256 of "HelloRetryRequest" (RFC 8446 §4.1.3).
    private static ReadOnlySpan<byte> HelloRetryRandom =>
    [
        0xCF, 0x21, 0xAD, 0x74, 0xE5, 0x9A, 0x61, 0x11, 0xBE, 0x1D, 0x8C, 0x02, 0x1E, 0x65, 0xB8, 0x91,
        0xC2, 0xA2, 0x11, 0x16, 0x7A, 0xBB, 0x8C, 0x5E, 0x07, 0x9E, 0x09, 0xE2, 0xC8, 0xA8, 0x33, 0x9C,
    ];

    // The ServerHello of TLS 1.3 drafts before 22 (version 0x7f00 + draft number) had no legacy_session_id_echo and no
    // legacy_compression_method (draft-ietf-tls-tls13-21 §4.1.3; draft 22 put them back for middleboxes).
    private static bool IsEarlyTls13Draft(ushort version) => version is >= 0x7F00 and < 0x7F16;

    /// <summary>
    /// Reads the certificate_list of a TLS 1.2 (or DTLS 1.2) Certificate message (RFC 5246 §7.4.2): the count, the
    /// leaf's DER, and into <paramref name="chain"/> the summaries of the first <paramref name="maxCertificates"/>
    /// certificates of at most <paramref name="maxCertificateBytes"/> each (null for one not read: too large or
    /// unreadable), from <paramref name="caches"/> when given. False when the list is malformed.
    /// </summary>
    public static bool TryReadCertificateList(ReadOnlySpan<byte> body, out int count, out ReadOnlySpan<byte> leaf,
        List<X509Summary?>? chain = null, int maxCertificates = 0, int maxCertificateBytes = 0, TlsCaches? caches = null)
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

            if (chain is not null && count < maxCertificates)
            {
                chain.Add(cert.Length > maxCertificateBytes ? null : caches is not null ? caches.ReadCertificate(cert) : X509Reader.Read(cert));
            }

            count++;
        }

        return true;
    }

    /// <summary>The PSK identity (ClientKeyExchange) or identity hint (ServerKeyExchange) of a PSK suite: the first
    /// field of both, <c>opaque psk_identity&lt;0..2^16-1&gt;</c> (RFC 4279 §2-§4, RFC 5489 §2). Null when absent or
    /// not printable text; cut at 128 characters.</summary>
    public static string? ReadPskIdentity(ReadOnlySpan<byte> body)
    {
        var r = new SpanReader(body);
        if (!r.TryReadVector16(out var identity))
        {
            return null;
        }

        identity = identity[..Math.Min(identity.Length, 128)];
        foreach (var b in identity)
        {
            if (b is < 0x20 or > 0x7E)
            {
                return Convert.ToHexStringLower(identity); // RFC 4279 §5.1 asks for UTF-8 text; show anything else as hex
            }
        }

        return System.Text.Encoding.ASCII.GetString(identity);
    }

    /// <summary>A parsed ClientHello: what the events report and what JA3/JA4 are computed from (GREASE removed).</summary>
    internal sealed class ClientHello
    {
        // Lists longer than this are not kept for the next hello (a hostile one may offer 32,767 suites).
        private const int KeptCapacity = 256;

        /// <summary>The legacy client_version field.</summary>
        public ushort LegacyVersion { get; private set; }

        /// <summary>The highest version offered (supported_versions, else the legacy version).</summary>
        public ushort HighestVersion { get; set; }

        /// <summary>Its name.</summary>
        public string Version { get; set; } = "";

        /// <summary>Versions offered, by name.</summary>
        public IReadOnlyList<string> SupportedVersions { get; set; } = [];

        /// <summary>SNI host name.</summary>
        public string? ServerName { get; set; }

        /// <summary>True when a server_name extension was sent (JA4's d/i), even one SecMon could not read.</summary>
        public bool HasServerName { get; set; }

        /// <summary>ALPN protocols offered.</summary>
        public List<string>? Alpn { get; set; }

        /// <summary>First byte of the first ALPN protocol (JA4).</summary>
        public byte? AlpnFirstByte { get; set; }

        /// <summary>Last byte of the first ALPN protocol (JA4).</summary>
        public byte? AlpnLastByte { get; set; }

        /// <summary>Number of cipher suites offered, GREASE included (as before: tls.client.cipher_count).</summary>
        public int CipherCount { get; private set; }

        /// <summary>Cipher suites offered, in order, GREASE removed.</summary>
        public List<int> Ciphers { get; private set; } = [];

        /// <summary>Extension types, in order, GREASE removed.</summary>
        public List<int> Extensions { get; } = [];

        /// <summary>supported_groups, in order, GREASE removed.</summary>
        public List<int> Groups { get; } = [];

        /// <summary>ec_point_formats, in order.</summary>
        public List<int> PointFormats { get; } = [];

        /// <summary>signature_algorithms, in order, GREASE removed.</summary>
        public List<int> SignatureAlgorithms { get; } = [];

        // Empties the hello for the next parse (TryReadClientHello's reuse).
        internal void Reset(ushort legacyVersion, int cipherCount)
        {
            LegacyVersion = legacyVersion;
            CipherCount = cipherCount;
            HighestVersion = 0;
            Version = "";
            SupportedVersions = [];
            ServerName = null;
            HasServerName = false;
            Alpn = null;
            AlpnFirstByte = null;
            AlpnLastByte = null;
            if (Ciphers.Capacity > KeptCapacity)
            {
                Ciphers = [];
            }

            Ciphers.Clear();
            Ciphers.EnsureCapacity(cipherCount);
            Extensions.Clear();
            Groups.Clear();
            PointFormats.Clear();
            SignatureAlgorithms.Clear();
        }
    }

    /// <summary>A parsed ServerHello.</summary>
    internal readonly record struct ServerHello(string Version, ushort WireVersion, int CipherSuite, string? Alpn, bool Resumed = false)
    {
        /// <summary>The legacy server_version field (JA3S).</summary>
        public ushort LegacyVersion { get; init; }

        /// <summary>Extension types, in order, GREASE removed (JA3S).</summary>
        public IReadOnlyList<int> ExtensionTypes { get; init; } = [];

        /// <summary>A HelloRetryRequest (RFC 8446 §4.1.4): the client sends a second ClientHello, the server a real
        /// ServerHello after it.</summary>
        public bool IsHelloRetryRequest { get; init; }
    }
}
