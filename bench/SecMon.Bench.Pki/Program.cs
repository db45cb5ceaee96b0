using System.Diagnostics;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using Org.BouncyCastle.Asn1.X9;
using Org.BouncyCastle.Crypto.EC;
using Org.BouncyCastle.Crypto.Generators;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Ocsp;
using Org.BouncyCastle.Security;
using SecMon.Pki.Ca;
using SecMon.Pki.Est;
using SecMon.Pki.Revocation;
using SecMon.Pki.Store;

// SecMon PKI benchmarks (bench/README.md "PKI"):
//   1. the signature floor: `openssl speed ecdsap256` and the curve implementations SecMon could use;
//   2. EST simpleenroll over HTTPS with keep-alive against `secmon serve` (a separate process);
//   3. OCSP responses for cached statuses (HTTP POST, keep-alive);
//   4. CRL generation for 100,000 revoked serials.
// Usage: dotnet run -c Release --project bench/SecMon.Bench.Pki [-- --enroll N --concurrency C --ocsp N --crl N]
var enrollCount = Arg("--enroll", 6000);
var concurrency = Arg("--concurrency", 32);
var ocspCount = Arg("--ocsp", 100_000);
var crlCount = Arg("--crl", 100_000);
var breakdownCount = Arg("--breakdown", 2000);
// --only floor,breakdown,enroll,ocsp,crl runs just those sections (default all).
var only = Array.IndexOf(args, "--only") is var o and >= 0 && o + 1 < args.Length ? args[o + 1].Split(',') : null;
bool Section(string name) => only is null || only.Contains(name);

Console.WriteLine($"# SecMon PKI bench, {DateTime.UtcNow:yyyy-MM-ddTHH:mm:ssZ}, {Environment.ProcessorCount} cores, .NET {Environment.Version}, {RuntimeInfo()}, load average {LoadAverage()}");
Console.WriteLine();
if (Section("floor"))
{
    SignatureFloor();
}

if (Section("breakdown"))
{
    EnrollBreakdown(breakdownCount);
}

if (!Section("enroll") && !Section("ocsp") && !Section("crl"))
{
    return 0;
}

var dir = Directory.CreateTempSubdirectory("secmon-bench-pki-").FullName;
try
{
    var options = new CaOptions { CaHome = Path.Combine(dir, "certs"), DataDirectory = Path.Combine(dir, "data"), Passphrase = "bench passphrase" };
    CaInitializer.Init(options, new CaInitOptions { Settings = new CaSettings { KdfIterations = 10_000 } }, TimeProvider.System);
    File.WriteAllText(Path.Combine(dir, "pass"), options.Passphrase);
    await using var server = await Server.StartAsync(options, Path.Combine(dir, "pass"));
    using var root = X509CertificateLoader.LoadCertificateFromFile(new CaPaths(options.CaHome).RootCertificate);
    if (Section("enroll"))
    {
        await EnrollBench(options, server, root, enrollCount, concurrency);
    }

    if (Section("ocsp"))
    {
        await OcspBench(options, server, ocspCount, concurrency);
    }
}
finally
{
    Directory.Delete(dir, true);
}

if (Section("crl"))
{
    CrlBench(crlCount);
}

return 0;

static void SignatureFloor()
{
    Console.WriteLine("## Signature floor (one core each)");
    var (code, output) = Run("openssl", "speed -seconds 2 ecdsap256");
    Console.WriteLine("openssl speed -seconds 2 ecdsap256" + (code == 0 ? "" : " (failed)") + ":");
    foreach (var line in output.Split('\n').Where(l => l.Contains("nistp256", StringComparison.Ordinal) || l.Contains("sign/s", StringComparison.Ordinal)))
    {
        Console.WriteLine("    " + line.Trim());
    }

    var data = new byte[400];
    using var ec = ECDsa.Create(ECCurve.NamedCurves.nistP256);
    var sig = ec.SignData(data, HashAlgorithmName.SHA256);
    Rate(".NET ECDsa (OpenSSL) P-256 sign", () => ec.SignData(data, HashAlgorithmName.SHA256));
    Rate(".NET ECDsa (OpenSSL) P-256 verify", () => ec.VerifyData(data, sig, HashAlgorithmName.SHA256));
    var spki = ec.ExportSubjectPublicKeyInfo();
    var sigDer = ec.SignData(data, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence);
    Rate(".NET import fresh public key + verify (what a CSR costs)", () =>
    {
        using var k = ECDsa.Create();
        k.ImportSubjectPublicKeyInfo(spki, out _);
        return k.VerifyData(data, sigDer, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence);
    });
    foreach (var (name, curve) in new[] { ("ECNamedCurveTable", ECNamedCurveTable.GetByName("P-256")), ("CustomNamedCurves", CustomNamedCurves.GetByName("P-256")) })
    {
        var domain = new ECNamedDomainParameters(X9ObjectIdentifiers.Prime256v1, curve);
        var gen = new ECKeyPairGenerator();
        gen.Init(new ECKeyGenerationParameters(domain, new SecureRandom()));
        var pair = gen.GenerateKeyPair();
        var signer = SignerUtilities.GetSigner("SHA256withECDSA");
        signer.Init(true, pair.Private);
        signer.BlockUpdate(data);
        var bcSig = signer.GenerateSignature();
        Rate($"BouncyCastle {name} P-256 sign", () =>
        {
            var s = SignerUtilities.GetSigner("SHA256withECDSA");
            s.Init(true, pair.Private);
            s.BlockUpdate(data);
            return s.GenerateSignature();
        });
        Rate($"BouncyCastle {name} P-256 verify", () =>
        {
            var s = SignerUtilities.GetSigner("SHA256withECDSA");
            s.Init(false, pair.Public);
            s.BlockUpdate(data);
            return s.VerifySignature(bcSig);
        });
    }

    Rate("BouncyCastle (PublicKeyFactory: CustomNamedCurves) fresh key decode + verify", () =>
    {
        var key = PublicKeyFactory.CreateKey(spki);
        var s = SignerUtilities.GetSigner("SHA256withECDSA");
        s.Init(false, key);
        s.BlockUpdate(data);
        return s.VerifySignature(sigDer);
    });
    // SecMon's own path, fresh key each time (a fresh key is what a CSR brings; caching would flatter it).
    var fresh = Enumerable.Range(0, 500).Select(_ =>
    {
        using var k = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        return (Spki: Org.BouncyCastle.Asn1.X509.SubjectPublicKeyInfo.GetInstance(k.ExportSubjectPublicKeyInfo()),
            Sig: k.SignData(data, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence));
    }).ToArray();
    var ecdsaSha256 = new Org.BouncyCastle.Asn1.X509.AlgorithmIdentifier(X9ObjectIdentifiers.ECDsaWithSha256);
    var next = 0;
    Rate("SecMon PublicKeys.Verify (libcrypto direct) fresh key decode + verify", () =>
    {
        var (k, s) = fresh[next++ % fresh.Length];
        return SecMon.Pki.Keys.PublicKeys.Verify(k, ecdsaSha256, data, s) ? true : throw new InvalidOperationException("verify failed");
    });
    Console.WriteLine("SecMon signs with .NET ECDsa, verifies CSR signatures with libcrypto directly (BouncyCastle CustomNamedCurves where libcrypto.so.3 is missing), builds ASN.1 with BouncyCastle.");
    Console.WriteLine();
}

// One enrollment in-process, one thread, taken apart: each step of EnrollmentService.SimpleEnroll and the
// HTTP handler's encoding, timed over fresh tokens and CSRs (a fresh key each, as in a deployment).
static void EnrollBreakdown(int count)
{
    Console.WriteLine($"## simpleenroll in-process, one thread, {count} enrollments per row (fresh token and key each), CPU time per call");
    var dir = Directory.CreateTempSubdirectory("secmon-bench-breakdown-").FullName;
    try
    {
        var options = new CaOptions { CaHome = Path.Combine(dir, "certs"), DataDirectory = Path.Combine(dir, "data"), Passphrase = "bench" };
        CaInitializer.Init(options, new CaInitOptions { Settings = new CaSettings { KdfIterations = 10_000 } }, TimeProvider.System);
        using var ca = CertificateAuthority.Open(options, TimeProvider.System);
        ca.CrlUrl = "http://127.0.0.1:8080/pki/crl";
        ca.OcspUrl = "http://127.0.0.1:8080/pki/ocsp";
        var est = new EnrollmentService(ca, new EstOptions { ClientPerSecond = 0, TokenPerMinute = 0 });
        var profile = ca.FindProfile("device")!;
        (string Device, string Token, byte[] Csr)[] Prepare(int n, string prefix)
        {
            var work = new (string, string, byte[])[n];
            for (var i = 0; i < n; i++)
            {
                var device = prefix + i.ToString("D6", System.Globalization.CultureInfo.InvariantCulture);
                var (token, _) = ca.CreateToken(device, TimeSpan.FromHours(1), "device", "bench");
                using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
                work[i] = (device, token, new CertificateRequest("CN=" + device, key, HashAlgorithmName.SHA256).CreateSigningRequest());
            }

            return work;
        }

        // CPU time of the process (one busy thread) per call: on a shared machine wall-clock time mostly measures the load.
        double Time(int n, Action<int> step)
        {
            var cpu = Process.GetCurrentProcess().TotalProcessorTime;
            for (var i = 0; i < n; i++)
            {
                step(i);
            }

            return (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalMilliseconds * 1000 / n;
        }

        var credentials = new EstCredentials { ClientAddress = "127.0.0.1" };
        var warm = Prepare(300, "warm-");
        foreach (var w in warm)
        {
            _ = est.SimpleEnroll(null, w.Csr, credentials with { Token = w.Token });
        }

        var work = Prepare(count * 2, "dev-");
        var results = new EnrollmentResult[count * 2];
        _ = Time(count, i => results[i] = est.SimpleEnroll(null, work[i].Csr, credentials with { Token = work[i].Token }));
        Thread.Sleep(500); // let tiered compilation finish
        var total = Time(count, i => results[count + i] = est.SimpleEnroll(null, work[count + i].Csr, credentials with { Token = work[count + i].Token }));
        var encode = Time(count, i => _ = EstEncoding.EncodeBody(EstEncoding.CertsOnly([results[count + i].Certificate!])));
        Console.WriteLine($"EnrollmentService.SimpleEnroll end to end        {total,8:F1} µs  ({1e6 / total:F0}/s)");
        Console.WriteLine($"  + answer: certs-only PKCS#7 + base64           {encode,8:F1} µs");

        // The steps of SimpleEnroll and CertificateAuthority.Issue, each over its own fresh inputs.
        var parts = Prepare(count, "part-");
        var checks = new SecMon.Pki.Policy.CsrCheck[count];
        var certs = new Org.BouncyCastle.X509.X509Certificate[count];
        var records = new IssuedCertificate[count];
        var tokenIds = new string[count];
        var now = DateTimeOffset.UtcNow;
        var tCheck = Time(count, i => tokenIds[i] = ca.CheckToken(parts[i].Token).Record!.Id);
        var tPolicy = Time(count, i => checks[i] = ca.Policy.Check(parts[i].Csr, new SecMon.Pki.Policy.CsrExpectation(profile, parts[i].Device)));
        var tBuild = Time(count, i => certs[i] = SecMon.Pki.Profiles.CertificateBuilder.IssueEndEntity(
            profile, SecMon.Pki.Profiles.CertificateNames.ForDevice(parts[i].Device), checks[i].Accepted!.PublicKey, ca.IssuingCertificate, ca.IssuingKey, now, ca.CrlUrl, ca.OcspUrl));
        var tRecord = Time(count, i => records[i] = CertificateAuthority.ToRecord(certs[i], parts[i].Device, "device", now, null));
        var tStore = Time(count, i => ca.Store.Write(tx =>
        {
            PkiStore.ConsumeToken(tx, tokenIds[i], now, records[i].Serial);
            PkiStore.InsertCertificate(tx, records[i]);
            PkiStore.AppendAudit(tx, now, AuditActions.TokenUse, "est:127.0.0.1", parts[i].Device, records[i].Serial, "ok", "token " + tokenIds[i]);
            PkiStore.AppendAudit(tx, now, AuditActions.Issue, "est:127.0.0.1", parts[i].Device, records[i].Serial, "ok", "profile=device key=ec-p256 notAfter=x");
            return true;
        }));
        var tEmpty = Time(count, i => ca.Store.Write(tx => true));
        var tAudit = Time(count, i => ca.Store.Write(tx => PkiStore.AppendAudit(tx, now, AuditActions.TokenUse, "est:127.0.0.1", "x", "y", "ok", "token z")));
        Console.WriteLine($"  (empty write transaction {tEmpty:F1} µs, one audit row in its own {tAudit:F1} µs)");
        Console.WriteLine($"  token look-up + constant-time check            {tCheck,8:F1} µs");
        Console.WriteLine($"  CSR policy (parse, verify proof of possession) {tPolicy,8:F1} µs");
        Console.WriteLine($"  certificate build + sign                       {tBuild,8:F1} µs");
        Console.WriteLine($"  stored record (encode, subject text)           {tRecord,8:F1} µs");
        Console.WriteLine($"  store: token use + certificate + 2 audit rows  {tStore,8:F1} µs");
        Console.WriteLine($"  sum of the parts                               {tCheck + tPolicy + tBuild + tRecord + tStore,8:F1} µs; load average {LoadAverage()}");
        var v = ca.Store.VerifyAudit();
        Console.WriteLine($"audit chain: {(v.Ok ? "OK" : "BROKEN")}, {v.VerifiedRows} rows");
    }
    finally
    {
        Directory.Delete(dir, true);
    }

    Console.WriteLine();
}

static async Task EnrollBench(CaOptions options, Server server, X509Certificate2 root, int count, int concurrency)
{
    Console.WriteLine($"## EST simpleenroll over HTTPS (HTTP/1.1 keep-alive, {concurrency} connections), {count} enrollments");
    var warmup = Math.Min(500, count / 10);
    var total = count + warmup;
    var sw = Stopwatch.StartNew();
    var work = new (string Device, string Token, byte[] Body)[total];
    using (var ca = CertificateAuthority.Open(options, TimeProvider.System))
    {
        for (var i = 0; i < total; i++)
        {
            var device = "bench-" + i.ToString("D6", System.Globalization.CultureInfo.InvariantCulture);
            var (token, _) = ca.CreateToken(device, TimeSpan.FromHours(1), "device", "bench");
            using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var csr = new CertificateRequest("CN=" + device, key, HashAlgorithmName.SHA256).CreateSigningRequest();
            work[i] = (device, token, EstEncoding.EncodeBody(csr));
        }
    }

    Console.WriteLine($"prepared {total} tokens and device keys/CSRs in {sw.Elapsed.TotalSeconds:F1} s (not timed)");
    using var http = Client(root, concurrency);
    var url = new Uri(server.Https, "/.well-known/est/simpleenroll");
    async Task<int> One(int i)
    {
        using var req = new HttpRequestMessage(HttpMethod.Post, url) { Version = new Version(1, 1), VersionPolicy = HttpVersionPolicy.RequestVersionExact };
        req.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(work[i].Device + ":" + work[i].Token)));
        req.Content = new ByteArrayContent(work[i].Body);
        req.Content.Headers.ContentType = new MediaTypeHeaderValue("application/pkcs10");
        using var resp = await http.SendAsync(req);
        _ = await resp.Content.ReadAsByteArrayAsync();
        return (int)resp.StatusCode;
    }

    var cacertsUrl = new Uri(server.Https, "/.well-known/est/cacerts");
    async Task<int> CaCerts(int i)
    {
        using var req = new HttpRequestMessage(HttpMethod.Get, cacertsUrl) { Version = new Version(1, 1), VersionPolicy = HttpVersionPolicy.RequestVersionExact };
        using var resp = await http.SendAsync(req);
        _ = await resp.Content.ReadAsByteArrayAsync();
        return (int)resp.StatusCode;
    }

    await Drive(0, 2000, concurrency, CaCerts);
    var cpuA = server.CpuTime;
    var (okCa, elapsedCa) = await Drive(0, 10_000, concurrency, CaCerts);
    Console.WriteLine($"(HTTPS baseline: GET cacerts {okCa} x 200 at {10_000 / elapsedCa.TotalSeconds:F0}/s, server CPU {(server.CpuTime - cpuA).TotalMilliseconds / 10:F0} µs per request)");
    var (ok, _) = await Drive(0, warmup, concurrency, One);
    var serverCpu0 = server.CpuTime;
    var clientCpu0 = Process.GetCurrentProcess().TotalProcessorTime;
    var (okTimed, elapsed) = await Drive(warmup, total, concurrency, One);
    var serverCpu = (server.CpuTime - serverCpu0).TotalMilliseconds / count;
    var clientCpu = (Process.GetCurrentProcess().TotalProcessorTime - clientCpu0).TotalMilliseconds / count;
    Console.WriteLine($"warm-up {warmup} ({ok} x 200); timed {count}: {okTimed} x 200 in {elapsed.TotalSeconds:F2} s = {count / elapsed.TotalSeconds:F0} enrollments/s");
    Console.WriteLine($"CPU per enrollment: server {serverCpu:F3} ms, client {clientCpu:F3} ms; {Environment.ProcessorCount} cores spent only on this would allow " +
        $"{Environment.ProcessorCount * 1000 / (serverCpu + clientCpu):F0}/s with this client, {Environment.ProcessorCount * 1000 / serverCpu:F0}/s for the server alone; load average {LoadAverage()}");
    using (var store = PkiStore.Open(options.DataDirectory))
    {
        var v = store.VerifyAudit();
        Console.WriteLine($"audit chain after the run: {(v.Ok ? "OK" : "BROKEN")}, {v.VerifiedRows} rows");
    }

    Console.WriteLine();
}

static async Task OcspBench(CaOptions options, Server server, int count, int concurrency)
{
    Console.WriteLine($"## OCSP over HTTP POST (keep-alive, {concurrency} connections), cached statuses, {count} responses");
    byte[][] requests;
    using (var ca = CertificateAuthority.Open(options, TimeProvider.System))
    {
        var certs = ca.Store.ListCertificates(limit: 1000);
        requests = certs.Select(c =>
        {
            var gen = new OcspReqGenerator();
            gen.AddRequest(new CertificateID(CertificateID.DigestSha1, ca.IssuingCertificate, new Org.BouncyCastle.Math.BigInteger(c.Serial, 16)));
            return gen.Generate().GetEncoded();
        }).ToArray();

        // In-process: the responder alone (no HTTP), cached.
        var responder = ca.CreateOcspResponder();
        foreach (var r in requests)
        {
            responder.Respond(r);
        }

        var swIn = Stopwatch.StartNew();
        for (var i = 0; i < count; i++)
        {
            responder.Respond(requests[i % requests.Length]);
        }

        Console.WriteLine($"in-process OcspResponder.Respond, cached: {count / swIn.Elapsed.TotalSeconds:F0} responses/s (one thread)");
        var swSign = Stopwatch.StartNew();
        var signed = 0;
        for (var i = 0; i < 2000; i++)
        {
            responder.Invalidate();
            responder.Respond(requests[i % requests.Length]);
            signed++;
        }

        Console.WriteLine($"in-process, uncached (look-up + sign each): {signed / swSign.Elapsed.TotalSeconds:F0} responses/s (one thread)");
    }

    using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = concurrency, PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5) });
    var url = new Uri(server.Http, "/pki/ocsp");
    async Task<int> One(int i)
    {
        using var req = new HttpRequestMessage(HttpMethod.Post, url) { Version = new Version(1, 1) };
        req.Content = new ByteArrayContent(requests[i % requests.Length]);
        req.Content.Headers.ContentType = new MediaTypeHeaderValue("application/ocsp-request");
        using var resp = await http.SendAsync(req);
        var body = await resp.Content.ReadAsByteArrayAsync();
        return resp.IsSuccessStatusCode && body.Length > 100 ? 200 : 500;
    }

    await Drive(0, Math.Min(5000, count), concurrency, One);
    var serverCpu0 = server.CpuTime;
    var (ok, elapsed) = await Drive(0, count, concurrency, One);
    var serverCpu = (server.CpuTime - serverCpu0).TotalMilliseconds / count;
    Console.WriteLine($"HTTP: {ok}/{count} good answers in {elapsed.TotalSeconds:F2} s = {count / elapsed.TotalSeconds:F0} responses/s; server CPU {serverCpu * 1000:F0} µs per response; load average {LoadAverage()}");
    Console.WriteLine();
}

static void CrlBench(int count)
{
    Console.WriteLine($"## CRL generation, {count} revoked serials");
    var dir = Directory.CreateTempSubdirectory("secmon-bench-crl-").FullName;
    try
    {
        var options = new CaOptions { CaHome = Path.Combine(dir, "certs"), DataDirectory = Path.Combine(dir, "data"), Passphrase = "bench" };
        CaInitializer.Init(options, new CaInitOptions { Settings = new CaSettings { KdfIterations = 10_000 } }, TimeProvider.System);
        using var ca = CertificateAuthority.Open(options, TimeProvider.System);
        var now = DateTimeOffset.UtcNow;
        var swFill = Stopwatch.StartNew();
        ca.Store.Write(tx =>
        {
            var dummy = new byte[] { 0x30, 0x00 };
            for (var i = 0; i < count; i++)
            {
                var serial = SecMon.Pki.Profiles.CertificateBuilder.SerialHex(SecMon.Pki.Profiles.CertificateBuilder.NewSerial());
                PkiStore.InsertCertificate(tx, new IssuedCertificate
                {
                    Serial = serial, DeviceId = "d" + i, Profile = "device", Subject = "CN=d" + i, NotBefore = now, NotAfter = now.AddDays(30),
                    IssuedAt = now, Der = dummy,
                });
                PkiStore.RevokeCertificate(tx, serial, now, (RevocationReason)(i % 2));
            }

            return true;
        });
        Console.WriteLine($"stored {count} revoked certificates in {swFill.Elapsed.TotalSeconds:F1} s (not timed)");
        ca.GenerateCrl(); // warm-up (JIT)
        var runs = new List<double>();
        byte[] crlDer = [];
        for (var r = 0; r < 3; r++)
        {
            var sw = Stopwatch.StartNew();
            crlDer = ca.GenerateCrl().Der;
            runs.Add(sw.Elapsed.TotalMilliseconds);
        }

        Console.WriteLine($"CertificateAuthority.GenerateCrl (query + build + sign + store + write crl.der/crl.pem): {string.Join(", ", runs.Select(r => r.ToString("F0", System.Globalization.CultureInfo.InvariantCulture) + " ms"))}; {crlDer.Length / 1024} KiB");
        var crlPath = Path.Combine(dir, "bench.crl");
        File.WriteAllBytes(crlPath, crlDer);
        var (code, text) = Run("openssl", $"crl -inform DER -in {crlPath} -noout -text");
        var entries = text.Split('\n').Count(l => l.TrimStart().StartsWith("Serial Number:", StringComparison.Ordinal));
        Console.WriteLine($"openssl crl reads it: {(code == 0 ? "yes" : "NO")}, {entries} entries");
    }
    finally
    {
        Directory.Delete(dir, true);
    }
}

static async Task<(int Ok, TimeSpan Elapsed)> Drive(int from, int to, int concurrency, Func<int, Task<int>> one)
{
    var next = from - 1;
    var ok = 0;
    var sw = Stopwatch.StartNew();
    await Task.WhenAll(Enumerable.Range(0, concurrency).Select(async _ =>
    {
        int i;
        while ((i = Interlocked.Increment(ref next)) < to)
        {
            if (await one(i) == 200)
            {
                Interlocked.Increment(ref ok);
            }
        }
    }));
    return (ok, sw.Elapsed);
}

static HttpClient Client(X509Certificate2 root, int concurrency)
{
    var handler = new SocketsHttpHandler
    {
        MaxConnectionsPerServer = concurrency,
        PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5),
        SslOptions = new System.Net.Security.SslClientAuthenticationOptions
        {
            RemoteCertificateValidationCallback = (_, cert, presented, _) =>
            {
                using var chain = new X509Chain();
                if (presented is not null)
                {
                    foreach (var e in presented.ChainElements)
                    {
                        chain.ChainPolicy.ExtraStore.Add(e.Certificate);
                    }
                }

                chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                chain.ChainPolicy.CustomTrustStore.Add(root);
                chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                return cert is not null && chain.Build(X509CertificateLoader.LoadCertificate(cert.GetRawCertData()));
            },
        },
    };
    return new HttpClient(handler);
}

static void Rate(string name, Func<object> op)
{
    for (var i = 0; i < 2000; i++)
    {
        op();
    }

    var n = 0;
    var sw = Stopwatch.StartNew();
    while (sw.ElapsedMilliseconds < 1500)
    {
        for (var i = 0; i < 100; i++)
        {
            op();
        }

        n += 100;
    }

    Console.WriteLine($"{name,-60} {n / sw.Elapsed.TotalSeconds,10:F0} /s");
}

static (int Code, string Output) Run(string file, string args)
{
    var psi = new ProcessStartInfo(file, args) { RedirectStandardOutput = true, RedirectStandardError = true };
    using var p = Process.Start(psi)!;
    var stdout = p.StandardOutput.ReadToEndAsync();
    var stderr = p.StandardError.ReadToEndAsync();
    p.WaitForExit();
    return (p.ExitCode, stdout.Result + stderr.Result);
}

static string LoadAverage() => File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "?";

static string RuntimeInfo()
{
    var cpu = File.Exists("/proc/cpuinfo") ? File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':')[1].Trim() : null;
    return cpu ?? System.Runtime.InteropServices.RuntimeInformation.OSDescription;
}

int Arg(string name, int fallback)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length && int.TryParse(args[i + 1], out var v) ? v : fallback;
}

/// <summary><c>secmon serve</c> as a separate process on 127.0.0.1, ports chosen by the OS.</summary>
internal sealed class Server : IAsyncDisposable
{
    private readonly Process _process;

    private Server(Process process, Uri https, Uri http)
    {
        _process = process;
        Https = https;
        Http = http;
    }

    public Uri Https { get; }

    public Uri Http { get; }

    public TimeSpan CpuTime
    {
        get
        {
            _process.Refresh();
            return _process.TotalProcessorTime;
        }
    }

    public static async Task<Server> StartAsync(CaOptions options, string passphraseFile)
    {
        var ready = Path.Combine(options.CaHome, "..", "ready.json");
        var dll = Path.Combine(AppContext.BaseDirectory, "secmon.dll");
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true };
        if (Environment.GetEnvironmentVariable("BENCH_SERVER_SPIN") is { } spin)
        {
            // Experiment knob: the thread pool's spin limit for the server process (DOTNET_ThreadPool_UnfairSemaphoreSpinLimit).
            psi.Environment["DOTNET_ThreadPool_UnfairSemaphoreSpinLimit"] = spin;
        }

        foreach (var a in new[]
        {
            dll, "serve", "--ca-home", options.CaHome, "--data", options.DataDirectory, "--passphrase-file", passphraseFile,
            "--https", "127.0.0.1:0", "--http", "127.0.0.1:0", "--public-url", "auto", "--rate-limit", "0", "--token-rate-limit", "0", "--quiet", "--ready-file", ready,
        })
        {
            psi.ArgumentList.Add(a);
        }

        var p = Process.Start(psi)!;
        p.OutputDataReceived += (_, _) => { };
        p.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null && e.Data.Contains("fail", StringComparison.OrdinalIgnoreCase))
            {
                Console.Error.WriteLine("server: " + e.Data);
            }
        };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        for (var i = 0; i < 200 && !File.Exists(ready); i++)
        {
            await Task.Delay(100);
        }

        await Task.Delay(100);
        var urls = JsonSerializer.Deserialize<Dictionary<string, string>>(File.ReadAllText(ready))!;
        return new Server(p, new Uri(urls["https"]), new Uri(urls["http"]));
    }

    public async ValueTask DisposeAsync()
    {
        _process.Kill();
        await _process.WaitForExitAsync();
        _process.Dispose();
    }
}
