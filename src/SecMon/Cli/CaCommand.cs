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
        var grace = new Option<string>("--supersede-grace")
        {
            Description = "How long a renewed certificate stays valid after its renewal, then it is revoked (reason superseded) at the next CRL; " +
                "0s = at once. Stored in ca.json as supersedeGrace. Default: 24h",
            DefaultValueFactory = _ => "24h",
        };
        var issuingCsr = new Option<bool>("--issuing-csr") { Description = "Offline root: create only the issuing key and write issuing-ca.csr.pem; sign it with your root, then run `secmon ca import`." };
        var cmd = new Command("init",
            "Create a root CA and an issuing CA (ECDSA P-384 root, P-256 issuing by default), the OCSP responder certificate and the first CRL.\n" +
            "Keys are encrypted with the passphrase from $SECMON_CA_PASSPHRASE or --passphrase-file, files mode 0600.\n" +
            "Example: SECMON_CA_PASSPHRASE=... secmon ca init --crl-url http://ca.lan:8080/pki/crl --ocsp-url http://ca.lan:8080/pki/ocsp\n" +
            "Offline root: secmon ca init --issuing-csr   (then sign certs/issuing-ca.csr.pem elsewhere and `secmon ca import`)");
        opts.AddTo(cmd);
        foreach (var o in new Option[] { name, rootKey, issuingKey, crlUrl, ocspUrl, deviceDays, kdf, grace, issuingCsr })
        {
            cmd.Options.Add(o);
        }

        cmd.SetAction(parse => CaCliSupport.Run(() =>
        {
            var options = opts.Read(parse);
            if (!SecMon.Core.Durations.TryParse(parse.GetValue(grace), out _))
            {
                Console.Error.WriteLine($"secmon: --supersede-grace {parse.GetValue(grace)}: not a duration ({SecMon.Core.Durations.Forms}).");
                return ExitCodes.Usage;
            }

            var settings = new CaSettings
            {
                Name = parse.GetValue(name)!,
                RootKey = parse.GetValue(rootKey)!,
                IssuingKey = parse.GetValue(issuingKey)!,
                CrlUrl = parse.GetValue(crlUrl)!,
                OcspUrl = parse.GetValue(ocspUrl)!,
                DeviceValidityDays = parse.GetValue(deviceDays),
                KdfIterations = Math.Max(10_000, parse.GetValue(kdf)),
                SupersedeGrace = parse.GetValue(grace)!,
            };
            var written = CaInitializer.Init(options, new CaInitOptions { Settings = settings, IssuingCsrOnly = parse.GetValue(issuingCsr) }, TimeProvider.System);
            foreach (var w in written)
            {
                Console.Error.WriteLine("wrote " + w);
            }

            if (parse.GetValue(issuingCsr))
            {
                Console.Error.WriteLine($"next: sign {new CaPaths(options.CaHome).IssuingCsr} with your offline root (CA:TRUE, pathlen 0, keyCertSign+cRLSign), then `secmon ca import --cert FILE --root ROOT.pem`.");
                return ExitCodes.Ok;
            }

            PrintRootFingerprint(new CaPaths(options.CaHome));
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
            var options = opts.Read(parse);
            foreach (var w in CaInitializer.Import(options, parse.GetValue(cert)!, parse.GetValue(root)!, TimeProvider.System))
            {
                Console.Error.WriteLine("wrote " + w);
            }

            PrintRootFingerprint(new CaPaths(options.CaHome));
            return ExitCodes.Ok;
        }));
        return cmd;
    }

    private static Command Issue()
    {
        var opts = CaCliSupport.NewCaOptions();
        var csr = new Option<string>("--csr") { Description = "The PKCS#10 CSR file (PEM or DER).", Required = true };
        var profile = new Option<string>("--profile")
        {
            Description = "device (default: clientAuth, device id in CN and SAN), server (serverAuth: brokers, SecMon's HTTPS) or analyst\n" +
                "(a person's client certificate for the API of 'secmon serve', with --scope; the CSR's CN is the analyst's name).",
            DefaultValueFactory = _ => "device",
        };
        var scope = new Option<string?>("--scope") { Description = "analyst profile: what the certificate lets its holder do in the API: read, write or admin (as API keys' scopes).", HelpName = "read|write|admin" };
        var days = new Option<int?>("--days") { Description = "analyst profile: validity in days (1-397). Default: 30", HelpName = "N" };
        var device = new Option<string?>("--device") { Description = "device profile: the device id the CSR must name (default: the CSR's CN)." };
        var dns = new Option<string[]>("--dns") { Description = "server profile: a DNS name for the SAN (repeat for more; default: the CSR's names)." };
        var ip = new Option<string[]>("--ip") { Description = "server profile: an IP address for the SAN (repeat for more)." };
        var output = new Option<string?>("--out") { Description = "Write the certificate (PEM) here instead of stdout." };
        var cmd = new Command("issue",
            "Issue a certificate from a CSR file, after the same policy checks EST applies.\n" +
            "Example: secmon ca issue --csr sensor-42.csr --device sensor-42 --out sensor-42.crt\n" +
            "         secmon ca issue --csr broker.csr --profile server --dns broker.lan --ip 10.0.0.5 --out broker.crt\n" +
            "         secmon ca issue --csr alice.csr --profile analyst --scope write --out alice.crt   (then: curl --cert alice.crt --key alice.key ...)");
        opts.AddTo(cmd);
        foreach (var o in new Option[] { csr, profile, scope, days, device, dns, ip, output })
        {
            cmd.Options.Add(o);
        }

        cmd.SetAction(parse => CaCliSupport.Run(() =>
        {
            var isAnalyst = parse.GetValue(profile) == "analyst";
            AnalystScope analystScope = default;
            if (isAnalyst != (parse.GetValue(scope) is not null) || (isAnalyst && !AnalystProfile.TryParseScope(parse.GetValue(scope), out analystScope)))
            {
                Console.Error.WriteLine(isAnalyst
                    ? $"secmon: --profile analyst needs --scope read, write or admin{(parse.GetValue(scope) is { } given ? $" (not '{given}')" : "")}."
                    : "secmon: --scope is for --profile analyst.");
                return ExitCodes.Usage;
            }

            if (parse.GetValue(days) is { } d && (!isAnalyst || d is < 1 or > 397))
            {
                Console.Error.WriteLine(isAnalyst ? "secmon: --days: 1 to 397." : "secmon: --days is for --profile analyst (devices' and servers' validity is in ca.json).");
                return ExitCodes.Usage;
            }

            using var ca = CertificateAuthority.Open(opts.Read(parse), TimeProvider.System);
            var p = isAnalyst ? CertificateProfile.Analyst(analystScope, parse.GetValue(days) ?? 30)
                : ca.FindProfile(parse.GetValue(profile)!) ?? throw new PkiException($"unknown profile \"{parse.GetValue(profile)}\" (device, server, analyst).");
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
        var cmd = new Command("list",
            "List issued certificates, newest first, with their state: valid, superseded (renewed; revoked once the grace period ends),\n" +
            "expired or revoked. Reads only: exit 66 when there is no CA database in --data.\n" +
            "Example: secmon ca list --device sensor-42   |   secmon ca list --revoked --json");
        opts.AddTo(cmd);
        foreach (var o in new Option[] { device, revoked, json, limit })
        {
            cmd.Options.Add(o);
        }

        cmd.SetAction(parse => CaCliSupport.Run(() =>
        {
            using var store = PkiStore.OpenExisting(parse.GetValue(opts.Data)!);
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
                        renewedFrom = c.RenewedFrom, supersededBy = c.SupersededBy, supersededAt = c.SupersededAt,
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
        var serial = new Argument<string?>("SERIAL") { Description = "The serial number (hex, as `ca list` or `openssl x509 -serial` print it).", Arity = ArgumentArity.ZeroOrOne };
        var device = new Option<string?>("--device") { Description = "Instead of SERIAL: revoke every unexpired certificate this device id holds (superseded ones too), with one new CRL.", HelpName = "ID" };
        var reason = new Option<string>("--reason")
        {
            Description = "Why: " + string.Join(", ", RevocationReasons.AllNames) + ". Default: unspecified",
            DefaultValueFactory = _ => "unspecified",
        };
        var onCrlChange = CaCliSupport.OnCrlChange();
        var cmd = new Command("revoke",
            "Revoke a certificate, or everything a device holds, and publish a new CRL: all or nothing (a wrong passphrase changes nothing).\n" +
            "The CRL is written atomically to CA_HOME/crl.pem (PEM: point mosquitto's crlfile at this path) and crl.der; `secmon serve` serves it within a second.\n" +
            "Running it again on an already revoked certificate checks that the latest CRL lists it and re-issues the CRL if not.\n" +
            "Exit 0 done, 66 unknown serial or device / no passphrase, 75 the --on-crl-change hook failed (the revocation stands).\n" +
            "Examples: secmon ca revoke 3A5F09C2... --reason keyCompromise\n" +
            "          secmon ca revoke --device sensor-42 --on-crl-change 'kill -HUP $(pidof mosquitto)'");
        opts.AddTo(cmd);
        cmd.Arguments.Add(serial);
        cmd.Options.Add(device);
        cmd.Options.Add(reason);
        cmd.Options.Add(onCrlChange);
        cmd.SetAction(parse => CaCliSupport.Run(() =>
        {
            var serialText = parse.GetValue(serial);
            var deviceId = parse.GetValue(device);
            if ((serialText is null) == (deviceId is null))
            {
                Console.Error.WriteLine("secmon: give a SERIAL or --device ID (one of them); see `secmon ca list`.");
                return ExitCodes.Usage;
            }

            var hex = "";
            if (serialText is not null && !CertificateBuilder.TryParseSerial(serialText, out hex))
            {
                Console.Error.WriteLine($"secmon: \"{serialText}\" is not a serial number (hex digits, as `secmon ca list` prints).");
                return ExitCodes.Usage;
            }

            if (!RevocationReasons.TryParse(parse.GetValue(reason), out var why))
            {
                Console.Error.WriteLine($"secmon: --reason {parse.GetValue(reason)}: unknown reason (use one of {string.Join(", ", RevocationReasons.AllNames)}).");
                return ExitCodes.Usage;
            }

            using var ca = CertificateAuthority.Open(opts.Read(parse), TimeProvider.System);
            var result = deviceId is null ? ca.RevokeSerial(hex, why, CertificateAuthority.CliActor) : ca.RevokeDevice(deviceId, why, CertificateAuthority.CliActor);
            if (result is null)
            {
                Console.Error.WriteLine($"secmon: no certificate with serial {hex}; see `secmon ca list`.");
                return ExitCodes.NoInput;
            }

            if (result.Revoked.Count == 0 && result.AlreadyRevoked.Count == 0)
            {
                Console.Error.WriteLine($"secmon: device {deviceId} holds no unexpired certificate; see `secmon ca list --device {deviceId}`.");
                return ExitCodes.NoInput;
            }

            ReportRevocation(ca, result);
            var hook = parse.GetValue(onCrlChange);
            // A retry on an already revoked certificate runs the hook again too: the earlier run may have failed.
            var number = result.Crl?.Number ?? ca.Store.LatestCrlNumber();
            return CaCliSupport.RunCrlHook(hook, ca, number);
        }));
        return cmd;
    }

    private static void ReportRevocation(CertificateAuthority ca, RevocationResult result)
    {
        foreach (var c in result.Revoked)
        {
            Console.Out.WriteLine($"revoked\t{c.Serial}\t{c.DeviceId}\t{c.RevocationReason.Name()}");
        }

        foreach (var c in result.AlreadyRevoked)
        {
            var repaired = result.Repaired.Contains(c);
            Console.Out.WriteLine($"{(repaired ? "repaired" : "already-revoked")}\t{c.Serial}\t{c.DeviceId}\t{c.RevocationReason.Name()}");
            Console.Error.WriteLine(repaired
                ? $"{c.Serial} was already revoked ({c.RevokedAt:yyyy-MM-ddTHH:mm:ssZ}) but the CRL did not list it: CRL re-issued"
                : $"{c.Serial} is already revoked ({c.RevokedAt:yyyy-MM-ddTHH:mm:ssZ}, {c.RevocationReason.Name()}); the CRL lists it");
        }

        foreach (var c in result.Crl?.SupersededRevoked ?? [])
        {
            Console.Out.WriteLine($"revoked\t{c.Serial}\t{c.DeviceId}\tsuperseded");
        }

        var pem = Path.GetFullPath(ca.Paths.CrlPem);
        Console.Error.WriteLine(result.Crl is { } crl
            ? $"revoked {result.Revoked.Count} certificate(s)" + (result.Repaired.Count > 0 ? $", repaired {result.Repaired.Count}" : "") +
              (crl.SupersededRevoked.Count > 0 ? $", {crl.SupersededRevoked.Count} superseded past their grace period" : "") +
              $"; CRL {crl.Number} written: {pem}"
            : result.FilesRewritten ? $"nothing to revoke; the CRL files did not hold the latest CRL and were rewritten: {pem}"
            : $"nothing to change; CRL: {pem}");
    }

    private static Command Crl()
    {
        var opts = CaCliSupport.NewCaOptions();
        var output = new Option<string?>("--out") { Description = "Also write a copy of the CRL (PEM) to this file (a copy is not updated by later revocations: prefer CA_HOME/crl.pem, or copy it in --on-crl-change)." };
        var onCrlChange = CaCliSupport.OnCrlChange();
        var cmd = new Command("crl",
            "Sign a fresh CRL now (it is also made on every revocation, and by `secmon serve` before nextUpdate and when a superseded\n" +
            "certificate's grace period ends). Superseded certificates past their grace period are revoked (reason superseded) into it.\n" +
            "Writes CA_HOME/crl.pem (point mosquitto's crlfile at this path) and crl.der atomically.\n" +
            "Example: secmon ca crl --on-crl-change 'kill -HUP $(pidof mosquitto)'");
        opts.AddTo(cmd);
        cmd.Options.Add(output);
        cmd.Options.Add(onCrlChange);
        cmd.SetAction(parse => CaCliSupport.Run(() =>
        {
            using var ca = CertificateAuthority.Open(opts.Read(parse), TimeProvider.System);
            var crl = ca.GenerateCrl();
            var outPath = parse.GetValue(output);
            if (outPath is not null)
            {
                SecureFiles.WritePublic(outPath, PemEncoding.WriteString("X509 CRL", crl.Der) + "\n");
            }

            foreach (var c in crl.SupersededRevoked)
            {
                Console.Out.WriteLine($"revoked\t{c.Serial}\t{c.DeviceId}\tsuperseded");
            }

            Console.Error.WriteLine($"CRL number {crl.Number}, next update {crl.NextUpdate:yyyy-MM-ddTHH:mm:ssZ}: {Path.GetFullPath(ca.Paths.CrlPem)}" + (outPath is null ? "" : ", " + outPath) +
                (crl.SupersededRevoked.Count > 0 ? $"; {crl.SupersededRevoked.Count} superseded certificate(s) revoked" : ""));
            return CaCliSupport.RunCrlHook(parse.GetValue(onCrlChange), ca, crl.Number);
        }));
        return cmd;
    }

    private static Command Token()
    {
        var cmd = new Command("token",
            "Enrollment tokens (one use, short-lived, stored only hashed).\n" +
            "Example: secmon ca token create --device sensor-42 --ttl 24h;  secmon ca token list;  secmon ca token revoke ID");
        cmd.Subcommands.Add(TokenCreate());
        cmd.Subcommands.Add(TokenList());
        cmd.Subcommands.Add(TokenRevoke());
        return cmd;
    }

    private static Command TokenCreate()
    {
        var opts = CaCliSupport.NewCaOptions();
        var device = new Option<string?>("--device") { Description = "The device id the token enrolls (becomes the certificate's CN and SAN)." };
        var plan = new Option<string?>("--from-plan")
        {
            Description = "Instead of --device: one token per device line of `secmon harden plan --json` output (FILE, or - for stdin); " +
                "lines of other kinds are skipped. Every line is checked first: a bad one is named and nothing is created (exit 65).",
            HelpName = "FILE|-",
        };
        var ttl = new Option<string>("--ttl") { Description = "How long the token is valid: 90s, 30m, 24h, 7d. Default: 24h", DefaultValueFactory = _ => "24h" };
        var profile = new Option<string>("--profile") { Description = "device (default) or server.", DefaultValueFactory = _ => "device" };
        var json = new Option<bool>("--json") { Description = "Print {\"token\":...,\"id\":...,\"expiresAt\":...} on stdout (with --from-plan: one object per device, with identity and device_id)." };
        var create = new Command("create",
            "Create a one-time bootstrap token for EST simpleenroll. Needs the CA passphrase (exit 66 without it or when wrong).\n" +
            "The token is printed once (stdout) and stored only hashed.\n" +
            "Example: TOKEN=$(secmon ca token create --device sensor-42 --ttl 24h)\n" +
            "         secmon harden plan --json | secmon ca token create --from-plan - > tokens.tsv   (IDENTITY<TAB>TOKEN per line)");
        opts.AddTo(create);
        foreach (var o in new Option[] { device, plan, ttl, profile, json })
        {
            create.Options.Add(o);
        }

        create.SetAction(parse => CaCliSupport.Run(() =>
        {
            if ((parse.GetValue(device) is null) == (parse.GetValue(plan) is null))
            {
                Console.Error.WriteLine("secmon: give --device ID or --from-plan FILE (one of them).");
                return ExitCodes.Usage;
            }

            if (!CaDurations.TryParse(parse.GetValue(ttl), out var lifetime))
            {
                Console.Error.WriteLine($"secmon: --ttl {parse.GetValue(ttl)}: not a duration (e.g. 30m, 24h, 7d).");
                return ExitCodes.Usage;
            }

            if (parse.GetValue(plan) is { } planPath)
            {
                return CreateFromPlan(opts.Read(parse), planPath, lifetime, parse.GetValue(profile)!, parse.GetValue(json));
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
        return create;
    }

    private static int CreateFromPlan(CaOptions options, string planPath, TimeSpan lifetime, string profile, bool json)
    {
        string text;
        try
        {
            if (planPath == "-")
            {
                text = Console.In.ReadToEnd();
            }
            else
            {
                if (new FileInfo(planPath) is { Exists: true, Length: > TokenPlan.MaxBytes })
                {
                    Console.Error.WriteLine($"secmon: {planPath}: larger than {TokenPlan.MaxBytes / (1024 * 1024)} MiB; not a plan.");
                    return ExitCodes.InputDamaged;
                }

                text = File.ReadAllText(planPath);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"secmon: {planPath}: cannot read the plan ({e.Message}).");
            return ExitCodes.NoInput;
        }

        var name = planPath == "-" ? "stdin" : planPath;
        var (devices, problems) = TokenPlan.Parse(text);
        using var ca = CertificateAuthority.Open(options, TimeProvider.System);
        // One token per identity: a device seen on two brokers enrolls once and uses its certificate on both.
        var unique = new List<PlanDevice>();
        var seen = new Dictionary<string, PlanDevice>(StringComparer.Ordinal);
        foreach (var d in devices)
        {
            if (ca.CheckTokenRequest(new TokenRequest(d.Identity, lifetime, profile)) is { } problem)
            {
                problems = [.. problems, new PlanProblem(d.Line, "\"identity\": " + problem)];
                continue;
            }

            if (seen.TryGetValue(d.Identity, out var first))
            {
                Console.Error.WriteLine($"{name}: line {d.Line}: {d.Identity} again (broker {d.Broker}); the token of line {first.Line} serves both");
                continue;
            }

            seen[d.Identity] = d;
            unique.Add(d);
        }

        if (problems.Count > 0)
        {
            foreach (var p in problems.OrderBy(p => p.Line))
            {
                Console.Error.WriteLine($"secmon: {name}: {p}");
            }

            Console.Error.WriteLine($"secmon: {name}: {problems.Count} bad line(s); no token created.");
            return ExitCodes.InputDamaged;
        }

        if (unique.Count == 0)
        {
            Console.Error.WriteLine($"{name}: no device lines (\"kind\":\"device\"): no token created.");
            return ExitCodes.Ok;
        }

        var made = ca.CreateTokens([.. unique.Select(d => new TokenRequest(d.Identity, lifetime, profile))], CertificateAuthority.CliActor);
        for (var i = 0; i < unique.Count; i++)
        {
            var (token, record) = made[i];
            if (json)
            {
                CaCliSupport.WriteJson(new { token, id = record.Id, identity = record.DeviceId, device_id = unique[i].DeviceId, expiresAt = record.ExpiresAt });
            }
            else
            {
                Console.Out.WriteLine($"{record.DeviceId}\t{token}");
            }
        }

        Console.Error.WriteLine($"{made.Count} token(s) ({profile}, one use each) for the devices of {name}, expiring {made[0].Record.ExpiresAt:yyyy-MM-ddTHH:mm:ssZ}");
        return ExitCodes.Ok;
    }

    private static Command TokenList()
    {
        var opts = CaCliSupport.NewCaOptions();
        var all = new Option<bool>("--all") { Description = "Also used, expired and revoked tokens (default: only those that can still enroll)." };
        var json = new Option<bool>("--json") { Description = "One JSON object per token on stdout." };
        var cmd = new Command("list",
            "List enrollment tokens, newest first: id, device, profile, created, expires, state (unused, used, expired, revoked).\n" +
            "Never the secret (it is stored only hashed). Reads only: exit 66 when there is no CA database in --data.\n" +
            "Example: secmon ca token list --all");
        opts.AddTo(cmd);
        cmd.Options.Add(all);
        cmd.Options.Add(json);
        cmd.SetAction(parse => CaCliSupport.Run(() =>
        {
            using var store = PkiStore.OpenExisting(parse.GetValue(opts.Data)!);
            var now = DateTimeOffset.UtcNow;
            var rows = store.ListTokens(parse.GetValue(all), now);
            if (parse.GetValue(json))
            {
                foreach (var t in rows)
                {
                    CaCliSupport.WriteJson(new
                    {
                        id = t.Id, deviceId = t.DeviceId, profile = t.Profile, createdAt = t.CreatedAt, expiresAt = t.ExpiresAt,
                        state = t.StateAt(now).ToString().ToLowerInvariant(), usedAt = t.UsedAt, usedSerial = t.UsedSerial, revokedAt = t.RevokedAt,
                    });
                }

                return ExitCodes.Ok;
            }

            Console.Out.WriteLine($"{"ID",-12}  {"DEVICE",-24} {"PROFILE",-8} {"CREATED",-20} {"EXPIRES",-20} STATE");
            foreach (var t in rows)
            {
                Console.Out.WriteLine($"{t.Id,-12}  {t.DeviceId,-24} {t.Profile,-8} {t.CreatedAt,-20:yyyy-MM-ddTHH:mm:ssZ} {t.ExpiresAt,-20:yyyy-MM-ddTHH:mm:ssZ} {t.StateAt(now).ToString().ToLowerInvariant()}");
            }

            Console.Error.WriteLine($"{rows.Count} token(s)" + (parse.GetValue(all) ? "" : " that can still enroll (--all for every token)"));
            return ExitCodes.Ok;
        }));
        return cmd;
    }

    private static Command TokenRevoke()
    {
        var opts = CaCliSupport.NewCaOptions();
        var ids = new Argument<string[]>("ID") { Description = "Token ids (as `ca token list` prints them; a whole token ID.SECRET is accepted too).", Arity = ArgumentArity.OneOrMore };
        var cmd = new Command("revoke",
            "Revoke unused enrollment tokens: EST enrollment refuses them from now on (a leaked token no longer lives until its TTL).\n" +
            "Exit 66 when an id is unknown or its token was already used (revoke the certificate it enrolled instead).\n" +
            "Example: secmon ca token revoke 3fa9c01b22de");
        opts.AddTo(cmd);
        cmd.Arguments.Add(ids);
        cmd.SetAction(parse => CaCliSupport.Run(() =>
        {
            var given = parse.GetValue(ids) ?? [];
            var parsed = new List<string>();
            foreach (var g in given)
            {
                // Only the id part is kept and echoed: a pasted whole token's secret is never printed.
                var id = g.Split('.')[0].ToLowerInvariant();
                if (id.Length != 12 || !id.All(Uri.IsHexDigit))
                {
                    Console.Error.WriteLine($"secmon: \"{(id.Length > 24 ? id[..24] + "..." : id)}\" is not a token id (12 hex digits, as `secmon ca token list` prints).");
                    return ExitCodes.Usage;
                }

                parsed.Add(id);
            }

            using var ca = CertificateAuthority.Open(opts.Read(parse), TimeProvider.System);
            var exit = ExitCodes.Ok;
            foreach (var id in parsed)
            {
                switch (ca.RevokeToken(id, CertificateAuthority.CliActor))
                {
                    case TokenRevocation.Revoked:
                        Console.Error.WriteLine($"revoked token {id}");
                        break;
                    case TokenRevocation.AlreadyRevoked:
                        Console.Error.WriteLine($"token {id} was already revoked");
                        break;
                    case TokenRevocation.AlreadyUsed:
                        var serial = ca.Store.GetToken(id)?.UsedSerial;
                        Console.Error.WriteLine($"secmon: token {id} was already used" + (serial is null ? "" : $" (it enrolled {serial}: `secmon ca revoke {serial}`)"));
                        exit = ExitCodes.NoInput;
                        break;
                    default:
                        Console.Error.WriteLine($"secmon: no token {id}; see `secmon ca token list --all`.");
                        exit = ExitCodes.NoInput;
                        break;
                }
            }

            return exit;
        }));
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
            using var store = PkiStore.OpenExisting(parse.GetValue(data)!);
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
            using var store = PkiStore.OpenExisting(parse.GetValue(listData)!);
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
            using var store = PkiStore.OpenExisting(parse.GetValue(data)!);
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

    private static string Status(IssuedCertificate c, DateTimeOffset now) => c.StateAt(now) switch
    {
        CertificateLifecycle.Revoked => "revoked",
        CertificateLifecycle.Expired => "expired",
        CertificateLifecycle.Superseded => "superseded",
        _ => "valid",
    };

    private static void PrintRootFingerprint(CaPaths paths)
    {
        if (!File.Exists(paths.RootCertificate))
        {
            return;
        }

        var fingerprint = CaCliSupport.Fingerprint(CertificateAuthority.ReadCertificate(paths.RootCertificate, ""));
        Console.Out.WriteLine(fingerprint);
        Console.Error.WriteLine($"root CA SHA-256 fingerprint: {fingerprint}\n" +
            $"  devices check it with: secmon enroll --server https://HOST:8443 --ca-fingerprint {fingerprint} ...");
    }

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
