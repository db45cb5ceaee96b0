using System.Runtime.Versioning;
using System.Security.Cryptography;
using System.Text;
using SecMon.Pki.Ca;
using SecMon.Pki.Store;
using SecMon.Testing;

namespace SecMon.IntegrationTests.Pki;

/// <summary>
/// EST as RFC 7030's examples do it: <c>openssl req</c> makes the CSR, <c>curl --data-binary</c> posts it with
/// <c>Content-Type: application/pkcs10</c>, <c>openssl base64 -d | openssl pkcs7 -print_certs</c> reads the answer,
/// and <c>openssl verify</c> / <c>openssl x509 -text</c> judge the certificate.
/// </summary>
[UnsupportedOSPlatform("windows")]
public sealed class EstCurlOpenSslTests(PkiServerFixture pki) : IClassFixture<PkiServerFixture>
{
    private const string MakeCsr =
        "openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout dev.key -subj \"/CN=$DEV\" -outform DER -out dev.csr.der 2>/dev/null && " +
        "openssl base64 -in dev.csr.der -out dev.csr.b64\n";

    private const string PostCsr =
        "curl -s -o resp.b64 -D resp.headers -w '%{http_code}' --cacert \"$ROOT\" -u \"$DEV:$TOKEN\" " +
        "-H 'Content-Type: application/pkcs10' -H 'Content-Transfer-Encoding: base64' --data-binary @dev.csr.b64 \"$HTTPS/.well-known/est/simpleenroll\"\n";

    [RequiresToolFact("openssl", "curl")]
    public async Task CaCerts_CurlThenOpensslPkcs7_PrintsIssuingAndRoot()
    {
        var dir = pki.NewWorkDir("cacerts");

        var (code, stdout, stderr) = await pki.Bash(
            "curl -sf -D h.txt --cacert \"$ROOT\" \"$HTTPS/.well-known/est/cacerts\" -o cacerts.b64 && " +
            "openssl base64 -d -in cacerts.b64 | openssl pkcs7 -inform DER -print_certs -noout && cat h.txt", dir);

        Assert.True(code == 0, stderr);
        Assert.Contains("subject=O = SecMon, CN = SecMon Issuing CA", stdout, StringComparison.Ordinal);
        Assert.Contains("subject=O = SecMon, CN = SecMon Root CA", stdout, StringComparison.Ordinal);
        Assert.Contains("content-type: application/pkcs7-mime", stdout, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("content-transfer-encoding: base64", stdout, StringComparison.OrdinalIgnoreCase);
    }

    [RequiresToolFact("openssl", "curl")]
    public async Task SimpleEnroll_OpensslCsrAndCurl_CertificateVerifiesWithTheDeviceProfile()
    {
        var dir = pki.NewWorkDir("enroll");
        var token = await pki.Token("sensor-7");

        var (code, stdout, stderr) = await pki.Bash(
            $"DEV=sensor-7; TOKEN='{token}'\n" + MakeCsr + "STATUS=$(" + PostCsr.TrimEnd() + ")\necho \"status=$STATUS\"\n" +
            "openssl base64 -d -in resp.b64 | openssl pkcs7 -inform DER -print_certs -out dev.crt && " +
            "openssl verify -CAfile \"$CHAIN\" dev.crt && openssl x509 -in dev.crt -noout -text && " +
            "openssl x509 -in dev.crt -noout -pubkey > cert.pub && openssl pkey -in dev.key -pubout > key.pub && cmp cert.pub key.pub && echo same-key && cat resp.headers", dir);

        Assert.True(code == 0, stdout + stderr);
        Assert.Contains("status=200", stdout, StringComparison.Ordinal);
        Assert.Contains("dev.crt: OK", stdout, StringComparison.Ordinal);
        Assert.Contains("same-key", stdout, StringComparison.Ordinal);
        Assert.Contains("Subject: CN = sensor-7", stdout, StringComparison.Ordinal);
        Assert.Contains("X509v3 Key Usage: critical", stdout, StringComparison.Ordinal);
        Assert.Contains("Digital Signature", stdout, StringComparison.Ordinal);
        Assert.Contains("TLS Web Client Authentication", stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("TLS Web Server Authentication", stdout, StringComparison.Ordinal);
        Assert.Contains("CA:FALSE", stdout, StringComparison.Ordinal);
        Assert.Contains("URI:urn:secmon:device:sensor-7", stdout, StringComparison.Ordinal);
        Assert.Contains("DNS:sensor-7", stdout, StringComparison.Ordinal);
        Assert.Contains("URI:" + pki.Http + "/pki/crl", stdout, StringComparison.Ordinal);
        Assert.Contains("OCSP - URI:" + pki.Http + "/pki/ocsp", stdout, StringComparison.Ordinal);
        Assert.Contains("content-type: application/pkcs7-mime; smime-type=certs-only", stdout, StringComparison.OrdinalIgnoreCase);
        Assert.Contains(pki.ReadState().Audit, a => a.Action == AuditActions.Issue && a.DeviceId == "sensor-7");
    }

    public static TheoryData<string, int> BadInputs => new()
    {
        { "Garbage", 400 },
        { "Truncated", 400 },
        { "Oversized", 413 },
        { "OtherDeviceId", 400 },
        { "BadSignature", 400 },
        { "ReusedToken", 401 },
        { "ExpiredToken", 401 },
        { "CaTrue", 400 },
        { "NoToken", 401 },
        { "WrongContentType", 400 },
    };

    [RequiresToolTheory("openssl", "curl")]
    [MemberData(nameof(BadInputs))]
    public async Task SimpleEnroll_BadInput_RefusedWithStatusAuditedNothingIssued(string label, int expected)
    {
        var dir = pki.NewWorkDir(label);
        var device = "bad-" + label.ToLowerInvariant();
        var token = await pki.Token(device, label == "ExpiredToken" ? "1s" : "1h");
        var subject = label == "OtherDeviceId" ? "someone-else" : device;
        var addExt = label == "CaTrue" ? " -addext 'basicConstraints=critical,CA:TRUE'" : "";
        var (made, _, makeErr) = await pki.Bash(
            $"DEV={subject}\n" + MakeCsr.Replace("-outform DER", addExt + " -outform DER", StringComparison.Ordinal), dir);
        Assert.True(made == 0, makeErr);
        var der = File.ReadAllBytes(Path.Combine(dir, "dev.csr.der"));
        switch (label)
        {
            case "Garbage":
                File.WriteAllText(Path.Combine(dir, "dev.csr.b64"), "this is not a certificate request at all, only words\n");
                break;
            case "Truncated":
                File.WriteAllText(Path.Combine(dir, "dev.csr.b64"), Convert.ToBase64String(der[..(der.Length / 2)]));
                break;
            case "Oversized":
                File.WriteAllText(Path.Combine(dir, "dev.csr.b64"), Convert.ToBase64String(RandomNumberGenerator.GetBytes(100_000)));
                break;
            case "BadSignature":
                der[^2] ^= 0x55; // inside the ECDSA signature's s INTEGER
                File.WriteAllText(Path.Combine(dir, "dev.csr.b64"), Convert.ToBase64String(der));
                break;
            case "ReusedToken":
                var (first, firstOut, _) = await pki.Bash($"DEV={device}; TOKEN='{token}'\n" + PostCsr, dir);
                Assert.Equal("200", firstOut.Trim());
                Assert.Equal(0, first);
                break;
            case "ExpiredToken":
                await Task.Delay(TimeSpan.FromSeconds(2.1));
                break;
        }

        var before = pki.ReadState();
        var post = label switch
        {
            "NoToken" => PostCsr.Replace("-u \"$DEV:$TOKEN\" ", "", StringComparison.Ordinal),
            "WrongContentType" => PostCsr.Replace("application/pkcs10", "text/plain", StringComparison.Ordinal),
            _ => PostCsr,
        };

        var (_, status, stderr) = await pki.Bash($"DEV={device}; TOKEN='{token}'\n" + post + "\ncat resp.headers >&2", dir);

        Assert.True(status.Trim() == expected.ToString(System.Globalization.CultureInfo.InvariantCulture), $"{label}: got {status}; {stderr}");
        var after = pki.ReadState();
        Assert.Equal(before.Certificates.Count, after.Certificates.Count);
        var refusal = after.Audit.Skip(before.Audit.Count).Single(a => a.Action == AuditActions.Refuse);
        Assert.StartsWith(expected + " ", refusal.Detail, StringComparison.Ordinal);
        Assert.DoesNotContain(token.Split('.')[1], string.Join("\n", after.Audit.Select(a => a.Detail)), StringComparison.Ordinal);
        Assert.True(after.ChainOk);
        if (expected == 401)
        {
            Assert.Contains("www-authenticate: Basic realm=\"SecMon EST\"", stderr, StringComparison.OrdinalIgnoreCase);
        }
    }

    [RequiresToolFact("openssl", "curl")]
    public async Task SimpleReenroll_CurlWithCurrentCertificate_SameSubjectNewCertificate()
    {
        var dir = pki.NewWorkDir("reenroll");
        var token = await pki.Token("renew-me");

        var (code, stdout, stderr) = await pki.Bash(
            $"DEV=renew-me; TOKEN='{token}'\n" + MakeCsr + PostCsr + "\n" +
            "openssl base64 -d -in resp.b64 | openssl pkcs7 -inform DER -print_certs -out dev.crt && " +
            "openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout new.key -subj /CN=renew-me -outform DER 2>/dev/null | openssl base64 > new.b64 && " +
            "echo status=$(curl -s -o re.b64 -w '%{http_code}' --cacert \"$ROOT\" --cert dev.crt --key dev.key -H 'Content-Type: application/pkcs10' --data-binary @new.b64 \"$HTTPS/.well-known/est/simplereenroll\") && " +
            "openssl base64 -d -in re.b64 | openssl pkcs7 -inform DER -print_certs -out new.crt && openssl verify -CAfile \"$CHAIN\" new.crt && " +
            "openssl x509 -in dev.crt -noout -subject -serial && openssl x509 -in new.crt -noout -subject -serial", dir);

        Assert.True(code == 0, stdout + stderr);
        Assert.Contains("status=200", stdout, StringComparison.Ordinal);
        Assert.Contains("new.crt: OK", stdout, StringComparison.Ordinal);
        var subjects = stdout.Split('\n').Where(l => l.StartsWith("subject=", StringComparison.Ordinal)).ToList();
        Assert.Equal(["subject=CN = renew-me", "subject=CN = renew-me"], subjects);
        var serials = stdout.Split('\n').Where(l => l.StartsWith("serial=", StringComparison.Ordinal)).ToList();
        Assert.NotEqual(serials[0], serials[1]);
        Assert.Contains(pki.ReadState().Audit, a => a.Action == AuditActions.Renew && a.DeviceId == "renew-me");
    }

    [RequiresToolFact("openssl", "curl")]
    public async Task SimpleReenroll_RevokedOrExpiredClientCertificate_403AuditedNothingIssued()
    {
        var dir = pki.NewWorkDir("reenroll-bad");
        var token = await pki.Token("revoked-dev");
        var (code, stdout, stderr) = await pki.Bash(
            $"DEV=revoked-dev; TOKEN='{token}'\n" + MakeCsr + PostCsr + "\n" +
            "openssl base64 -d -in resp.b64 | openssl pkcs7 -inform DER -print_certs -out dev.crt && openssl x509 -in dev.crt -noout -serial", dir);
        Assert.True(code == 0, stderr);
        var serial = stdout.Trim().Split('=')[1];
        var (revoked, _, revokeErr) = await pki.Ca("revoke", serial, "--reason", "keyCompromise");
        Assert.True(revoked == 0, revokeErr);

        // An expired certificate: issued by the same CA with its clock 40 days back (30-day validity).
        var (made, _, madeErr) = await pki.Bash(
            "openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout old.key -subj /CN=old-dev -outform DER -out old.csr 2>/dev/null", dir);
        Assert.True(made == 0, madeErr);
        var past = new FixedClock(DateTimeOffset.UtcNow.AddDays(-40));
        using (var pastCa = CertificateAuthority.Open(new CaOptions { CaHome = pki.CaHome, DataDirectory = pki.Data, Passphrase = PkiServerFixture.Passphrase }, past))
        {
            var old = pastCa.Issue(new IssueRequest { CsrDer = File.ReadAllBytes(Path.Combine(dir, "old.csr")), Profile = pastCa.FindProfile("device")!, DeviceId = "old-dev", Actor = "test" });
            Assert.True(old.Ok, old.Reason);
            File.WriteAllText(Path.Combine(dir, "old.crt"), CertificateAuthority.ToPem(old.Certificate!));
        }

        var before = pki.ReadState();
        var (_, statuses, curlErr) = await pki.Bash(
            "openssl req -new -key dev.key -subj /CN=revoked-dev -outform DER 2>/dev/null | openssl base64 > r.b64; openssl req -new -key old.key -subj /CN=old-dev -outform DER 2>/dev/null | openssl base64 > o.b64\n" +
            "curl -s -o r.txt -w '%{http_code}\\n' --cacert \"$ROOT\" --cert dev.crt --key dev.key -H 'Content-Type: application/pkcs10' --data-binary @r.b64 \"$HTTPS/.well-known/est/simplereenroll\"\n" +
            "curl -s -o o.txt -w '%{http_code}\\n' --cacert \"$ROOT\" --cert old.crt --key old.key -H 'Content-Type: application/pkcs10' --data-binary @o.b64 \"$HTTPS/.well-known/est/simplereenroll\"\n" +
            "cat r.txt o.txt >&2", dir);

        Assert.Equal(["403", "403"], statuses.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("revoked", curlErr, StringComparison.Ordinal);
        Assert.Contains("expired", curlErr, StringComparison.Ordinal);
        var after = pki.ReadState();
        Assert.Equal(before.Certificates.Count, after.Certificates.Count);
        Assert.Equal(2, after.Audit.Skip(before.Audit.Count).Count(a => a.Action == AuditActions.Refuse && a.Detail!.StartsWith("403 ", StringComparison.Ordinal)));
    }

    [RequiresToolFact("openssl", "curl")]
    public async Task CsrAttrs_OpensslAsn1parse_AsksForP256WithEcdsaSha256()
    {
        var dir = pki.NewWorkDir("csrattrs");

        var (code, stdout, stderr) = await pki.Bash(
            "curl -sf --cacert \"$ROOT\" \"$HTTPS/.well-known/est/csrattrs\" | openssl base64 -d | openssl asn1parse -inform DER", dir);

        Assert.True(code == 0, stderr);
        Assert.Contains("ecdsa-with-SHA256", stdout, StringComparison.Ordinal);
        Assert.Contains("id-ecPublicKey", stdout, StringComparison.Ordinal);
        Assert.Contains("prime256v1", stdout, StringComparison.Ordinal);
    }

    [RequiresToolFact("openssl", "curl")]
    public async Task ServerKeyGen_Curl_MultipartWithKeyMatchingCertificate()
    {
        var dir = pki.NewWorkDir("serverkeygen");
        var token = await pki.Token("keygen-dev");

        var (code, stdout, stderr) = await pki.Bash(
            $"DEV=keygen-dev; TOKEN='{token}'\n" + MakeCsr +
            "curl -s -D h.txt -o body.txt -w '%{http_code}' --cacert \"$ROOT\" -u \"$DEV:$TOKEN\" -H 'Content-Type: application/pkcs10' --data-binary @dev.csr.b64 \"$HTTPS/.well-known/est/serverkeygen\"", dir);

        Assert.True(code == 0, stderr);
        Assert.Equal("200", stdout.Trim());
        var headers = File.ReadAllText(Path.Combine(dir, "h.txt"));
        var boundary = headers.Split('\n').Single(l => l.StartsWith("content-type:", StringComparison.OrdinalIgnoreCase)).Split("boundary=")[1].Trim();
        var parts = File.ReadAllText(Path.Combine(dir, "body.txt")).Split("--" + boundary).Where(p => p.Contains("Content-Type", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, parts.Count);
        Assert.Contains("application/pkcs8", parts[0], StringComparison.Ordinal);
        File.WriteAllBytes(Path.Combine(dir, "key.der"), Convert.FromBase64String(parts[0].Split("\r\n\r\n")[1]));
        File.WriteAllBytes(Path.Combine(dir, "cert.p7"), Convert.FromBase64String(parts[1].Split("\r\n\r\n")[1]));
        var (ok, keys, err) = await pki.Bash(
            "openssl pkey -inform DER -in key.der -pubout && openssl pkcs7 -inform DER -in cert.p7 -print_certs | openssl x509 -noout -pubkey", dir);
        Assert.True(ok == 0, err);
        var pems = keys.Split("-----END PUBLIC KEY-----", StringSplitOptions.RemoveEmptyEntries).Select(k => k.Trim()).Where(k => k.Length > 0).ToList();
        Assert.Equal(2, pems.Count);
        Assert.Equal(pems[0], pems[1]);
    }

    [RequiresToolFact("openssl")]
    public async Task EnrollCli_ThenRenew_WritesKey0600AndCertificatesThatVerify()
    {
        var dir = pki.NewWorkDir("cli");
        var token = await pki.Token("cli-dev");
        var outDir = Path.Combine(dir, "device");

        var (code, _, stderr) = await PkiServerFixture.Secmon("enroll", "--server", pki.Https, "--ca-cert", pki.Root, "--token", token, "--device-id", "cli-dev", "--out", outDir);
        Assert.True(code == 0, stderr);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(outDir, "device.key.pem")));
        var (v1, s1, e1) = await pki.Bash("openssl verify -CAfile device/chain.pem device/device.crt.pem && openssl x509 -in device/device.crt.pem -noout -serial -subject", dir);
        Assert.True(v1 == 0, e1);

        var (notDue, _, notDueErr) = await PkiServerFixture.Secmon("enroll", "renew", "--out", outDir, "--before", "7d");
        Assert.Equal(0, notDue);
        Assert.Contains("not due", notDueErr, StringComparison.Ordinal);
        var (renewed, _, renewErr) = await PkiServerFixture.Secmon("enroll", "renew", "--out", outDir, "--before", "31d");
        Assert.True(renewed == 0, renewErr);
        var (v2, s2, e2) = await pki.Bash("openssl verify -CAfile device/chain.pem device/device.crt.pem && openssl x509 -in device/device.crt.pem -noout -serial -subject && " +
            "openssl x509 -in device/device.crt.pem -noout -pubkey > c.pub && openssl pkey -in device/device.key.pem -pubout > k.pub && cmp c.pub k.pub", dir);
        Assert.True(v2 == 0, e2);
        Assert.NotEqual(Line(s1, "serial="), Line(s2, "serial="));
        Assert.Equal("subject=CN = cli-dev", Line(s2, "subject="));
    }

    [RequiresToolFact("openssl", "curl")]
    public async Task SimpleEnroll_BearerTokenAndDeviceLabel_IssuedUnknownLabel404()
    {
        var dir = pki.NewWorkDir("bearer");
        var token = await pki.Token("bearer-dev");

        var (code, stdout, stderr) = await pki.Bash(
            "DEV=bearer-dev\n" + MakeCsr +
            $"echo status=$(curl -s -o resp.b64 -w '%{{http_code}}' --cacert \"$ROOT\" -H 'Authorization: Bearer {token}' " +
            "-H 'Content-Type: application/pkcs10' --data-binary @dev.csr.b64 \"$HTTPS/.well-known/est/device/simpleenroll\")\n" +
            "openssl base64 -d -in resp.b64 | openssl pkcs7 -inform DER -print_certs -out dev.crt && openssl verify -CAfile \"$CHAIN\" dev.crt\n" +
            "echo unknown=$(curl -s -o /dev/null -w '%{http_code}' --cacert \"$ROOT\" \"$HTTPS/.well-known/est/nosuchlabel/cacerts\")", dir);

        Assert.True(code == 0, stdout + stderr);
        Assert.Contains("status=200", stdout, StringComparison.Ordinal);
        Assert.Contains("dev.crt: OK", stdout, StringComparison.Ordinal);
        Assert.Contains("unknown=404", stdout, StringComparison.Ordinal);
    }

    [RequiresToolFact("curl")]
    public async Task Est_OverPlainHttp_Refused()
    {
        var dir = pki.NewWorkDir("plain");

        var (_, stdout, _) = await pki.Bash("curl -s -o /dev/null -w '%{http_code}' \"$HTTP/.well-known/est/cacerts\"", dir);

        Assert.Equal("403", stdout.Trim());
    }

    private static string Line(string text, string prefix) => text.Split('\n').Single(l => l.StartsWith(prefix, StringComparison.Ordinal)).Trim();
}

/// <summary>Manual approval: 202 with Retry-After until <c>secmon ca approve</c>.</summary>
[UnsupportedOSPlatform("windows")]
public sealed class EstApprovalTests(ApprovalServerFixture fixture) : IClassFixture<ApprovalServerFixture>
{
    [RequiresToolFact("openssl", "curl")]
    public async Task SimpleEnroll_ManualApproval_202ThenApprovedThen200()
    {
        var pki = fixture.Inner;
        var dir = pki.NewWorkDir("approval");
        var token = await pki.Token("held-dev");
        var post = $"DEV=held-dev; TOKEN='{token}'\n" +
            "curl -s -o resp.b64 -D h.txt -w '%{http_code}' --cacert \"$ROOT\" -u \"$DEV:$TOKEN\" -H 'Content-Type: application/pkcs10' --data-binary @dev.csr.b64 \"$HTTPS/.well-known/est/simpleenroll\"";
        var (made, _, madeErr) = await pki.Bash(
            "openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout dev.key -subj /CN=held-dev -outform DER 2>/dev/null | openssl base64 > dev.csr.b64", dir);
        Assert.True(made == 0, madeErr);

        var (_, first, _) = await pki.Bash(post, dir);
        Assert.Equal("202", first.Trim());
        Assert.Contains("retry-after: 5", File.ReadAllText(Path.Combine(dir, "h.txt")), StringComparison.OrdinalIgnoreCase);
        var (_, pending, _) = await pki.Ca("pending");
        var id = pending.Split('\t')[0].Trim();
        Assert.Contains("held-dev", pending, StringComparison.Ordinal);
        var (approved, _, approveErr) = await pki.Ca("approve", id);
        Assert.True(approved == 0, approveErr);

        var (_, second, _) = await pki.Bash(post, dir);
        Assert.Equal("200", second.Trim());
        var (ok, _, err) = await pki.Bash("openssl base64 -d -in resp.b64 | openssl pkcs7 -inform DER -print_certs -out dev.crt && openssl verify -CAfile \"$CHAIN\" dev.crt", dir);
        Assert.True(ok == 0, err);
    }
}

/// <summary>A clock stopped at one instant.</summary>
internal sealed class FixedClock(DateTimeOffset now) : TimeProvider
{
    public override DateTimeOffset GetUtcNow() => now;
}
