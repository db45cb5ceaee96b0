using System.Runtime.Versioning;
using SecMon.Testing;

namespace SecMon.IntegrationTests.Pki;

/// <summary>
/// Revocation checked by OpenSSL: <c>openssl ocsp</c> against the responder (good, then revoked after
/// <c>secmon ca revoke</c>), <c>openssl verify -crl_check</c> with the CRL served over HTTP.
/// </summary>
[UnsupportedOSPlatform("windows")]
public sealed class RevocationOpenSslTests(PkiServerFixture pki) : IClassFixture<PkiServerFixture>
{
    private const string Enroll =
        "openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout $DEV.key -subj \"/CN=$DEV\" -outform DER 2>/dev/null | openssl base64 > $DEV.b64 && " +
        "curl -sf --cacert \"$ROOT\" -u \"$DEV:$TOKEN\" -H 'Content-Type: application/pkcs10' --data-binary @$DEV.b64 \"$HTTPS/.well-known/est/simpleenroll\" | " +
        "openssl base64 -d | openssl pkcs7 -inform DER -print_certs -out $DEV.crt\n";

    private const string Ocsp = "openssl ocsp -issuer \"$ISSUING\" -cert $DEV.crt -url \"$HTTP/pki/ocsp\" -CAfile \"$CHAIN\" 2>&1";

    [RequiresToolFact("openssl", "curl")]
    public async Task OcspAndCrl_GoodThenRevokedAfterCaRevoke()
    {
        var dir = pki.NewWorkDir("revoke");
        var (enrolled, _, enrollErr) = await pki.Bash(
            $"DEV=victim; TOKEN='{await pki.Token("victim")}'\n" + Enroll + $"DEV=bystander; TOKEN='{await pki.Token("bystander")}'\n" + Enroll, dir);
        Assert.True(enrolled == 0, enrollErr);

        var (_, good, _) = await pki.Bash("DEV=victim; " + Ocsp + "; " + Ocsp.Replace("-CAfile", "-no_nonce -CAfile", StringComparison.Ordinal), dir);
        Assert.Contains("Response verify OK", good, StringComparison.Ordinal);
        Assert.Equal(2, Count(good, "victim.crt: good"));

        var (_, serialOut, _) = await pki.Bash("openssl x509 -in victim.crt -noout -serial", dir);
        var (revoked, _, revokeErr) = await pki.Ca("revoke", serialOut.Trim().Split('=')[1], "--reason", "keyCompromise");
        Assert.True(revoked == 0, revokeErr);

        // The running server notices the CLI's revocation within its poll interval (1 s).
        var answer = "";
        for (var i = 0; i < 20 && !answer.Contains("victim.crt: revoked", StringComparison.Ordinal); i++)
        {
            await Task.Delay(250);
            (_, answer, _) = await pki.Bash("DEV=victim; " + Ocsp.Replace("-CAfile", "-no_nonce -CAfile", StringComparison.Ordinal), dir);
        }

        Assert.Contains("victim.crt: revoked", answer, StringComparison.Ordinal);
        Assert.Contains("Reason: keyCompromise", answer, StringComparison.Ordinal);
        var (_, withNonce, _) = await pki.Bash("DEV=victim; " + Ocsp, dir);
        Assert.Contains("victim.crt: revoked", withNonce, StringComparison.Ordinal);
        Assert.Contains("Response verify OK", withNonce, StringComparison.Ordinal);
        var (_, bystander, _) = await pki.Bash("DEV=bystander; " + Ocsp, dir);
        Assert.Contains("bystander.crt: good", bystander, StringComparison.Ordinal);

        var (_, crlCheck, _) = await pki.Bash(
            "curl -sf \"$HTTP/pki/crl\" -o crl.der && openssl crl -inform DER -in crl.der -out crl.pem && openssl crl -in crl.pem -noout -text; " +
            "openssl verify -crl_check -CRLfile crl.pem -CAfile \"$CHAIN\" victim.crt 2>&1; echo victim-exit=$?; " +
            "openssl verify -crl_check -CRLfile crl.pem -CAfile \"$CHAIN\" bystander.crt 2>&1; echo bystander-exit=$?", dir);
        Assert.Contains("certificate revoked", crlCheck, StringComparison.Ordinal);
        Assert.Contains("victim-exit=2", crlCheck, StringComparison.Ordinal);
        Assert.Contains("bystander.crt: OK", crlCheck, StringComparison.Ordinal);
        Assert.Contains("bystander-exit=0", crlCheck, StringComparison.Ordinal);
        Assert.Contains("Key Compromise", crlCheck, StringComparison.Ordinal);
        Assert.Contains("X509v3 CRL Number", crlCheck, StringComparison.Ordinal);
        Assert.Contains("Serial Number: " + serialOut.Trim().Split('=')[1], crlCheck, StringComparison.Ordinal);
    }

    [RequiresToolFact("openssl", "curl")]
    public async Task Ocsp_GetRequestAndUnknownSerial_Answered()
    {
        var dir = pki.NewWorkDir("ocsp-get");
        var (enrolled, _, enrollErr) = await pki.Bash($"DEV=getter; TOKEN='{await pki.Token("getter")}'\n" + Enroll, dir);
        Assert.True(enrolled == 0, enrollErr);

        // RFC 6960 §A.1: GET {url}/{url-encoded base64 of the DER request}.
        var (code, stdout, stderr) = await pki.Bash(
            "openssl ocsp -issuer \"$ISSUING\" -cert getter.crt -no_nonce -reqout req.der >/dev/null && " +
            "ENC=$(openssl base64 -A -in req.der | sed -e 's/+/%2B/g' -e 's/\\//%2F/g' -e 's/=/%3D/g') && " +
            "curl -sf -D h.txt \"$HTTP/pki/ocsp/$ENC\" -o resp.der && grep -i content-type h.txt && " +
            "openssl ocsp -respin resp.der -issuer \"$ISSUING\" -cert getter.crt -CAfile \"$CHAIN\" 2>&1; " +
            "openssl ocsp -issuer \"$ISSUING\" -serial 0x0123456789ABCDEF -url \"$HTTP/pki/ocsp\" -CAfile \"$CHAIN\" 2>&1", dir);

        Assert.True(code == 0, stdout + stderr);
        Assert.Contains("application/ocsp-response", stdout, StringComparison.Ordinal);
        Assert.Contains("getter.crt: good", stdout, StringComparison.Ordinal);
        Assert.Contains("0x0123456789ABCDEF: unknown", stdout, StringComparison.Ordinal);
    }

    private static int Count(string text, string what) => text.Split(what).Length - 1;
}
