using System.CommandLine;
using System.Net;
using System.Security.Cryptography;
using SecMon.Pki;
using SecMon.Pki.Ca;
using SecMon.Pki.Keys;
using SecMon.Pki.Profiles;
using SecMon.Pki.Store;

namespace SecMon.Cli;

/// <summary><c>secmon ca ...</c>: the certificate authority (init, import, issue, list, revoke, crl, token, audit, approve).</summary>
internal static class CaCommand
{
    /// <summary>Builds the <c>ca</c> command group.</summary>
    public static Command Create()
    {
        var ca = new Command("ca",
            "The certificate authority that gives every device its own mTLS certificate.\n" +
            "Start with:  export SECMON_CA_PASSPHRASE=...;  secmon ca init\n" +
            "then:        secmon ca token create --device sensor-42 --ttl 24h   (give the token to the device)\n" +
            "             secmon serve                                         (EST, CRL and OCSP endpoints)\n" +
            "             secmon enroll --server https://HOST:8443 --token T --device-id sensor-42 --out /etc/secmon  (on the device)");
        ca.Subcommands.Add(Init());
        ca.Subcommands.Add(Import());
        ca.Subcommands.Add(Issue());
        ca.Subcommands.Add(List());
        ca.Subcommands.Add(Revoke());
        ca.Subcommands.Add(Crl());
        ca.Subcommands.Add(Token());
        ca.Subcommands.Add(Audit());
        ca.Subcommands.Add(Pending());
        ca.Subcommands.Add(Decide("approve", true));
        ca.Subcommands.Add(Decide("reject", false));
        return ca;
    }

    private static Command Init()
    {
        var opts = CaCliSupport.NewCaOptions();
        var name = new Option<string>("--name") { Description = "Name in the CA subjects (CN=NAME Root CA, O=NAME). Default: SecMon", DefaultValueFactory = _ => "SecMon" };
        var rootKey = new Option<string>("--root-key") { Description = "Root key type: ecdsa-p384 (default), ecdsa-p256, rsa-3072, rsa-4096", DefaultValueFactory = _ => "ecdsa-p384" };
        var issuingKey = new Option<string>("--issuing-key") { Description = "Issuing key type: ecdsa-p256 (default), ecdsa-p384, rsa-3072", DefaultValueFactory = _ => "ecdsa-p256" };
        var crlUrl = new Option<string>("--crl-url") { Description = "CRL URL written into certificates (where `secmon serve` is reachable over HTTP). Default: http://localhost:8080/pki/crl", DefaultValueFactory = _ => "http://localhost:8080/pki/crl" };
        var ocspUrl = new Option<string>("--ocsp-url") { Description = "OCSP URL written into certificates. Default: http://localhost:8080/pki/ocsp", DefaultValueFactory = _ => "http://localhost:8080/pki/ocsp" };
        var deviceDays = new Option<int>("--device-days") { Description = "Device certificate validity in days. Default: 30", DefaultValueFactory = _ => 30 };
        var kdf = new Option<int>("--kdf-iterations") { Description = "PBKDF2-HMAC-SHA256 iterations protecting the keys at rest (min 10000). Default: 600000", DefaultValueFactory = _ => 600_000 };
        var issuingCsr = new Option<bool>("--issuing-csr") { Description = "Offline root: create only the issuing key and write issuing-ca.csr.pem; sign it with your root, then run `secmon ca import`." };
        var cmd = new Command("init",
            "Create a root CA and an issuing CA (ECDSA P-384 root, P-256 issuing by default), the OCSP responder certificate and the first CRL.\n" +
            "Keys are encrypted with the passphrase from $SECMON_CA_PASSPHRASE or --passphrase-file, files mode 0600.\n" +
            "Example: SECMON_CA_PASSPHRASE=... secmon ca init --crl-url http://ca.lan:8080/pki/crl --ocsp-url http://ca.lan:8080/pki/ocsp\n" +
            "Offline root: secmon ca init --issuing-csr   (then sign certs/issuing-ca.csr.pem elsewhere and `secmon ca import`)");
        opts.AddTo(cmd);
        foreach (var o in new Option[] { name, rootKey, issuingKey, crlUrl, ocspUrl, deviceDays, kdf, issuingCsr })
        {
            cmd.Options.Add(o);
        }

        cmd.SetAction(parse => CaCliSupport.Run(() =>
        {
            var options = opts.Read(parse);
            var settings = new CaSettings
            {
                Name = parse.GetValue(name)!,
                RootKey = parse.GetValue(rootKey)!,
                IssuingKey = parse.GetValue(issuingKey)!,
                CrlUrl = parse.GetValue(crlUrl)!,
                OcspUrl = parse.GetValue(ocspUrl)!,
                DeviceValidityDays = parse.GetValue(deviceDays),
                KdfIterations = Math.Max(10_000, parse.GetValue(kdf)),
            };
            var written = CaInitializer.Init(options, new CaInitOptions { Settings = settings, IssuingCsrOnly = parse.GetValue(issuingCsr) }, TimeProvider.System);
            foreach (var w in written)
            {
                Console.Error.WriteLine("wrote " + w);
            }

            if (parse.GetValue(issuingCsr))
            {
                Console.Error.WriteLine($"next: sign {new CaPaths(options.CaHome).IssuingCsr} with your offline root (CA:TRUE, pathlen 0, keyCertSign+cRLSign), then `secmon ca import --cert FILE --root ROOT.pem`.");
            }

            return ExitCodes.Ok;
        }));
        return cmd;
    }

    private static Command Import()
    {
        var opts = CaCliSupport.NewCaOptions();
        var cert = new Option<string>("--cert") { Description = "The issuing CA certificate signed by the offline root (PEM or DER).", Required = true };
        var root = new Option<string>("--root") { Description = "The root CA certificate (PEM or DER).", Required = true };
        var cmd = new Command("import",
            "Install the issuing CA certificate signed by an offline root (after `ca init --issuing-csr`).\n" +
            "Example: secmon ca import --cert issuing-ca.crt.pem --root root-ca.crt.pem");
        opts.AddTo(cmd);
        cmd.Options.Add(cert);
        cmd.Options.Add(root);
        cmd.SetAction(parse => CaCliSupport.Run(() =>
        {
            foreach (var w in CaInitializer.Import(opts.Read(parse), parse.GetValue(cert)!, parse.GetValue(root)!, TimeProvider.System))
            {
                Console.Error.WriteLine("wrote " + w);
            }

            return ExitCodes.Ok;
        }));
        return cmd;
    }

    private static Command Issue()
    {
        var opts = CaCliSupport.NewCaOptions();
        var csr = new Option<string>("--csr") { Description = "The PKCS#10 CSR file (PEM or DER).", Required = true };
        var profile = new Option<string>("--profile") { Description = "device (default: clientAuth, device id in CN and SAN) or server (serverAuth: brokers, SecMon's HTTPS).", DefaultValueFactory = _ => "device" };
        var device = new Option<string?>("--device") { Description = "device profile: the device id the CSR must name (default: the CSR's CN)." };
        var dns = new Option<string[]>("--dns") { Description = "server profile: a DNS name for the SAN (repeat for more; default: the CSR's names)." };
        var ip = new Option<string[]>("--ip") { Description = "server profile: an IP address for the SAN (repeat for more)." };
        var output = new Option<string?>("--out") { Description = "Write the certificate (PEM) here instead of stdout." };
        var cmd = new Command("issue",
            "Issue a certificate from a CSR file, after the same policy checks EST applies.\n" +
            "Example: secmon ca issue --csr sensor-42.csr --device sensor-42 --out sensor-42.crt\n" +
            "         secmon ca issue --csr broker.csr --profile server --dns broker.lan --ip 10.0.0.5 --out broker.crt");
        opts.AddTo(cmd);
        foreach (var o in new Option[] { csr, profile, device, dns, ip, output })
        {
            cmd.Options.Add(o);
        }

        cmd.SetAction(parse => CaCliSupport.Run(() =>
        {
            using var ca = CertificateAuthority.Open(opts.Read(parse), TimeProvider.System);
            var p = ca.FindProfile(parse.GetValue(profile)!) ?? throw new PkiException($"unknown profile \"{parse.GetValue(profile)}\" (device, server).");
            var csrPath = parse.GetValue(csr)!;
            var der = ReadCsr(csrPath);
            var dnsNames = parse.GetValue(dns) ?? [];
            var ipNames = new List<IPAddress>();
            foreach (var s in parse.GetValue(ip) ?? [])
            {
                ipNames.Add(IPAddress.TryParse(s, out var a) ? a : throw new PkiException($"--ip {s}: not an IP address."));
            }

            var r = ca.Issue(new IssueRequest
            {
                CsrDer = der,
                Profile = p,
                DeviceId = parse.GetValue(device),
                DnsNames = p.Kind == ProfileKind.Server && (dnsNames.Length > 0 || ipNames.Count > 0) ? dnsNames : null,
                IpAddresses = p.Kind == ProfileKind.Server && (dnsNames.Length > 0 || ipNames.Count > 0) ? ipNames : null,
                Actor = CertificateAuthority.CliActor,
            });
            if (!r.Ok)
            {
                Console.Error.WriteLine($"secmon: {csrPath}: refused: {r.Reason}");
                return ExitCodes.InputDamaged;
            }

            var pem = CertificateAuthority.ToPem(r.Certificate!);
            var outPath = parse.GetValue(output);
            if (outPath is null)
            {
                Console.Out.Write(pem);
            }
            else
            {
                SecureFiles.WritePublic(outPath, pem);
            }

            Console.Error.WriteLine($"issued {r.Record!.Serial} to {r.Record.DeviceId} ({p.Name}), valid until {r.Record.NotAfter:yyyy-MM-ddTHH:mm:ssZ}" + (outPath is null ? "" : ", wrote " + outPath));
            return ExitCodes.Ok;
        }));
        return cmd;
    }

    private static Command List()
    {
        var opts = CaCliSupport.NewCaOptions();
        var device = new Option<string?>("--device") { Description = "Only this device's certificates." };
        var revoked = new Option<bool>("--revoked") { Description = "Only revoked certificates." };
        var json = new Option<bool>("--json") { Description = "One JSON object per certificate on stdout." };
        var limit = new Option<int>("--limit") { Description = "At most this many, newest first. Default: 1000", DefaultValueFactory = _ => 1000 };
        var cmd = new Command("list", "List issued certificates, newest first.\nExample: secmon ca list --device sensor-42   |   secmon ca list --revoked --json");
        opts.AddTo(cmd);
        foreach (var o in new Option[] { device, revoked, json, limit })
        {
            cmd.Options.Add(o);
        }

        cmd.SetAction(parse => CaCliSupport.Run(() =>
        {
            using var store = PkiStore.Open(parse.GetValue(opts.Data)!);
            var now = DateTimeOffset.UtcNow;
            var rows = store.ListCertificates(parse.GetValue(device), parse.GetValue(revoked), parse.GetValue(limit));
            if (parse.GetValue(json))
            {
                foreach (var c in rows)
                {
                    CaCliSupport.WriteJson(new
                    {
                        serial = c.Serial, deviceId = c.DeviceId, profile = c.Profile, subject = c.Subject,
                        notBefore = c.NotBefore, notAfter = c.NotAfter, issuedAt = c.IssuedAt,
                        status = Status(c, now), revokedAt = c.RevokedAt, revocationReason = c.IsRevoked ? c.RevocationReason.Name() : null,
                        renewedFrom = c.RenewedFrom,
                    });
                }

                return ExitCodes.Ok;
            }

            Console.Error.WriteLine($"{"SERIAL",-34} {"DEVICE",-24} {"PROFILE",-8} {"NOT AFTER",-20} STATUS");
            foreach (var c in rows)
            {
                Console.Error.WriteLine($"{c.Serial,-34} {c.DeviceId,-24} {c.Profile,-8} {c.NotAfter,-20:yyyy-MM-ddTHH:mm:ssZ} {Status(c, now)}");
            }

            Console.Error.WriteLine($"{rows.Count} certificate(s)");
            return ExitCodes.Ok;
        }));
        return cmd;
    }

    private static Command Revoke()
    {
        var opts = CaCliSupport.NewCaOptions();
        var serial = new Argument<string>("SERIAL") { Description = "The serial number (hex, as `ca list` or `openssl x509 -serial` print it)." };
        var reason = new Option<string>("--reason")
        {
            Description = "Why: " + string.Join(", ", RevocationReasons.AllNames) + ". Default: unspecified",
            DefaultValueFactory = _ => "unspecified",
        };
        var cmd = new Command("revoke",
            "Revoke a certificate and regenerate the CRL (certs/crl.pem, crl.der; `secmon serve` picks it up within a second).\n" +
            "Example: secmon ca revoke 3A5F09C2... --reason keyCompromise");
        opts.AddTo(cmd);
        cmd.Arguments.Add(serial);
        cmd.Options.Add(reason);
        cmd.SetAction(parse => CaCliSupport.Run(() =>
        {
            if (!CertificateBuilder.TryParseSerial(parse.GetValue(serial), out var hex))
            {
                Console.Error.WriteLine($"secmon: \"{parse.GetValue(serial)}\" is not a serial number (hex digits, as `secmon ca list` prints).");
                return ExitCodes.Usage;
            }

            if (!RevocationReasons.TryParse(parse.GetValue(reason), out var why))
            {
                Console.Error.WriteLine($"secmon: --reason {parse.GetValue(reason)}: unknown reason (use one of {string.Join(", ", RevocationReasons.AllNames)}).");
                return ExitCodes.Usage;
            }

            using var ca = CertificateAuthority.Open(opts.Read(parse), TimeProvider.System);
            var existing = ca.Store.GetCertificate(hex);
            if (!ca.Revoke(hex, why, CertificateAuthority.CliActor))
            {
                Console.Error.WriteLine(existing is null
                    ? $"secmon: no certificate with serial {hex}; see `secmon ca list`."
                    : $"secmon: {hex} is already revoked.");
                return ExitCodes.NoInput;
            }

            Console.Error.WriteLine($"revoked {hex} ({existing!.DeviceId}, {why.Name()}); CRL regenerated: {ca.Paths.CrlPem}");
            return ExitCodes.Ok;
        }));
        return cmd;
    }

    private static Command Crl()
    {
        var opts = CaCliSupport.NewCaOptions();
        var output = new Option<string?>("--out") { Description = "Also write the CRL (PEM) to this file." };
        var cmd = new Command("crl",
            "Generate a fresh CRL now (it is also regenerated on every revocation and by `secmon serve` before nextUpdate).\n" +
            "Writes certs/crl.der and certs/crl.pem. Example: secmon ca crl --out /etc/mosquitto/secmon-crl.pem");
        opts.AddTo(cmd);
        cmd.Options.Add(output);
        cmd.SetAction(parse => CaCliSupport.Run(() =>
        {
            using var ca = CertificateAuthority.Open(opts.Read(parse), TimeProvider.System);
            var crl = ca.GenerateCrl();
            var outPath = parse.GetValue(output);
            if (outPath is not null)
            {
                SecureFiles.WritePublic(outPath, PemEncoding.WriteString("X509 CRL", crl.Der) + "\n");
            }

            Console.Error.WriteLine($"CRL number {crl.Number}, next update {crl.NextUpdate:yyyy-MM-ddTHH:mm:ssZ}: {ca.Paths.CrlPem}" + (outPath is null ? "" : ", " + outPath));
            return ExitCodes.Ok;
        }));
        return cmd;
    }

    private static Command Token()
    {
        var opts = CaCliSupport.NewCaOptions();
        var device = new Option<string>("--device") { Description = "The device id the token enrolls (becomes the certificate's CN and SAN).", Required = true };
        var ttl = new Option<string>("--ttl") { Description = "How long the token is valid: 90s, 30m, 24h, 7d. Default: 24h", DefaultValueFactory = _ => "24h" };
        var profile = new Option<string>("--profile") { Description = "device (default) or server.", DefaultValueFactory = _ => "device" };
        var json = new Option<bool>("--json") { Description = "Print {\"token\":...,\"id\":...,\"expiresAt\":...} on stdout." };
        var create = new Command("create",
            "Create a one-time bootstrap token for EST simpleenroll. The token is printed once (stdout) and stored only hashed.\n" +
            "Example: TOKEN=$(secmon ca token create --device sensor-42 --ttl 24h)");
        opts.AddTo(create);
        foreach (var o in new Option[] { device, ttl, profile, json })
        {
            create.Options.Add(o);
        }

        create.SetAction(parse => CaCliSupport.Run(() =>
        {
            if (!CaDurations.TryParse(parse.GetValue(ttl), out var lifetime))
            {
                Console.Error.WriteLine($"secmon: --ttl {parse.GetValue(ttl)}: not a duration (e.g. 30m, 24h, 7d).");
                return ExitCodes.Usage;
            }

            using var ca = CertificateAuthority.Open(opts.Read(parse), TimeProvider.System);
            var (token, record) = ca.CreateToken(parse.GetValue(device)!, lifetime, parse.GetValue(profile)!, CertificateAuthority.CliActor);
            if (parse.GetValue(json))
            {
                CaCliSupport.WriteJson(new { token, id = record.Id, deviceId = record.DeviceId, profile = record.Profile, expiresAt = record.ExpiresAt });
            }
            else
            {
                Console.Out.WriteLine(token);
                Console.Error.WriteLine($"token {record.Id} for {record.DeviceId} ({record.Profile}), one use, expires {record.ExpiresAt:yyyy-MM-ddTHH:mm:ssZ}");
            }

            return ExitCodes.Ok;
        }));
        var cmd = new Command("token", "Enrollment tokens. Example: secmon ca token create --device sensor-42 --ttl 24h");
        cmd.Subcommands.Add(create);
        return cmd;
    }

    private static Command Audit()
    {
        var verifyOpts = CaCliSupport.NewCaOptions();
        var data = verifyOpts.Data;
        var expectHead = new Option<string?>("--expect-head")
        {
            Description = "A head hash printed by an earlier verify and kept elsewhere: fail unless that row is still in the log " +
                "(rows appended since are fine; rows removed from the end or a rewritten log are not).",
            HelpName = "HASH",
        };
        var verify = new Command("verify",
            "Verify the audit log: every row links to the one before by its SHA-256 hash, and carries an HMAC made with the audit key\n" +
            "(certs/audit.key.json, encrypted with the CA passphrase), so a row edited with every hash recomputed is found too.\n" +
            "Rows written before the key existed (older SecMon) are a legacy prefix checked by the hashes only; the first keyed row covers them.\n" +
            "Prints the head hash: keep a copy elsewhere and pass it later as --expect-head to detect rows removed from the end.\n" +
            "Exit 65 when the log is broken or the expected head is gone. Example: secmon ca audit verify --expect-head 3f2a...");
        verifyOpts.AddTo(verify);
        verify.Options.Add(expectHead);
        verify.SetAction(parse => CaCliSupport.Run(() =>
        {
            var want = parse.GetValue(expectHead);
            if (want is not null && !System.Text.RegularExpressions.Regex.IsMatch(want.Trim(), "^[0-9a-fA-F]{64}$"))
            {
                Console.Error.WriteLine($"secmon: --expect-head {want}: not a head hash (64 hex digits, as `secmon ca audit verify` prints).");
                return ExitCodes.Usage;
            }

            var options = verifyOpts.Read(parse);
            var keyPath = new CaPaths(options.CaHome).AuditKey;
            var key = File.Exists(keyPath) ? AuditKey.Load(keyPath, options.Passphrase) : null;
            using var store = PkiStore.Open(parse.GetValue(data)!);
            var v = store.VerifyAudit(key, want);
            if (!v.Ok)
            {
                Console.Error.WriteLine($"secmon: audit log BROKEN at row {v.FirstBadSeq}: {v.Problem} ({v.VerifiedRows} rows before it verify).");
                return ExitCodes.InputDamaged;
            }

            if (key is null && v.FirstMacRow is not null)
            {
                Console.Error.WriteLine($"secmon: the audit log is keyed from row {v.FirstMacRow} but {keyPath} is missing: its MACs cannot be checked. " +
                    "Restore the file from a backup of the CA home (or give --ca-home).");
                return ExitCodes.NoInput;
            }

            if (want is not null && v.ExpectedHeadSeq is null)
            {
                Console.Error.WriteLine($"secmon: audit log head {want.Trim().ToLowerInvariant()} is NOT in the log: rows were removed from the end or the log was rewritten " +
                    $"(it has {v.VerifiedRows} rows now, head {v.HeadHash}).");
                return ExitCodes.InputDamaged;
            }

            var keyed = key is null
                ? "NOT keyed yet (hash chain only; the key is made at the next CA operation with the passphrase)"
                : v.FirstMacRow is null ? "keyed, no rows yet" : $"HMACs verified from row {v.FirstMacRow}" + (v.FirstMacRow > 1 ? $" (rows 1-{v.FirstMacRow - 1}: legacy, hash chain only)" : "");
            var since = want is null ? "" : $"; expected head is row {v.ExpectedHeadSeq}, {v.VerifiedRows - v.ExpectedHeadSeq} rows appended since";
            Console.Out.WriteLine($"audit log OK: {v.VerifiedRows} rows, {keyed}{since}, head {v.HeadHash}");
            return ExitCodes.Ok;
        }));
        var listOpts = CaCliSupport.NewCaOptions();
        var listData = listOpts.Data;
        var last = new Option<int?>("--last") { Description = "Only the last N rows." };
        var json = new Option<bool>("--json") { Description = "One JSON object per row on stdout." };
        var list = new Command("list", "Show the audit log (issuance, renewal, revocation, token use, refusals).\nExample: secmon ca audit list --last 20");
        listOpts.AddTo(list);
        list.Options.Add(last);
        list.Options.Add(json);
        list.SetAction(parse => CaCliSupport.Run(() =>
        {
            using var store = PkiStore.Open(parse.GetValue(listData)!);
            foreach (var a in store.ReadAudit(parse.GetValue(last)))
            {
                if (parse.GetValue(json))
                {
                    CaCliSupport.WriteJson(new
                    {
                        seq = a.Seq, time = SecMon.Core.Time.FormatMicros(a.TimeMicros), action = a.Action, actor = a.Actor, deviceId = a.DeviceId,
                        serial = a.Serial, outcome = a.Outcome, detail = a.Detail, hash = a.Hash,
                    });
                }
                else
                {
                    Console.Error.WriteLine($"{a.Seq,6} {SecMon.Core.Time.FormatMicros(a.TimeMicros)} {a.Action,-13} {a.Outcome,-7} {a.Actor,-20} {a.DeviceId ?? "-",-20} {a.Serial ?? "-"} {a.Detail}");
                }
            }

            return ExitCodes.Ok;
        }));
        var cmd = new Command("audit", "The append-only, hash-chained and keyed (HMAC) audit log. Example: secmon ca audit verify");
        cmd.Subcommands.Add(verify);
        cmd.Subcommands.Add(list);
        return cmd;
    }

    private static Command Pending()
    {
        var opts = CaCliSupport.NewCaOptions();
        var data = opts.Data;
        var cmd = new Command("pending", "List enrollments waiting for approval (`secmon serve --approval manual`).\nExample: secmon ca pending, then secmon ca approve ID");
        opts.AddTo(cmd);
        cmd.SetAction(parse => CaCliSupport.Run(() =>
        {
            using var store = PkiStore.Open(parse.GetValue(data)!);
            var rows = store.ListPending();
            foreach (var p in rows)
            {
                Console.Out.WriteLine($"{p.Id}\t{p.DeviceId}\t{p.Profile}\t{p.Client}\t{p.CreatedAt:yyyy-MM-ddTHH:mm:ssZ}");
            }

            Console.Error.WriteLine($"{rows.Count} pending");
            return ExitCodes.Ok;
        }));
        return cmd;
    }

    private static Command Decide(string name, bool approve)
    {
        var opts = CaCliSupport.NewCaOptions();
        var id = new Argument<long>("ID") { Description = "The request id from `secmon ca pending`." };
        var cmd = new Command(name, (approve ? "Approve" : "Reject") + $" a pending enrollment; the device gets its answer on its next retry.\nExample: secmon ca {name} 3");
        opts.AddTo(cmd);
        cmd.Arguments.Add(id);
        cmd.SetAction(parse => CaCliSupport.Run(() =>
        {
            using var ca = CertificateAuthority.Open(opts.Read(parse), TimeProvider.System);
            if (!ca.DecidePending(parse.GetValue(id), approve, CertificateAuthority.CliActor))
            {
                Console.Error.WriteLine($"secmon: no pending request {parse.GetValue(id)}; see `secmon ca pending`.");
                return ExitCodes.NoInput;
            }

            Console.Error.WriteLine($"request {parse.GetValue(id)} {(approve ? "approved" : "rejected")}");
            return ExitCodes.Ok;
        }));
        return cmd;
    }

    private static string Status(IssuedCertificate c, DateTimeOffset now) =>
        c.IsRevoked ? "revoked" : c.NotAfter < now ? "expired" : "valid";

    /// <summary>Reads a CSR file: PEM (CERTIFICATE REQUEST / NEW CERTIFICATE REQUEST) or DER.</summary>
    internal static byte[] ReadCsr(string path)
    {
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new PkiException($"{path}: cannot read the CSR ({e.Message}).", e);
        }

        var text = System.Text.Encoding.ASCII.GetString(bytes);
        if (PemEncoding.TryFind(text, out var fields))
        {
            return Convert.FromBase64String(text[fields.Base64Data]);
        }

        return bytes;
    }
}
