using SecMon.Alerts.Webhooks;
using SecMon.Core.Configuration;
using SecMon.Core.Findings;

namespace SecMon.Alerts.Tests.Webhooks;

public sealed class WebhookOutputFactoryTests
{
    private const string GoodSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    private static readonly string Secret32 = "whsec_" + Convert.ToBase64String(Enumerable.Range(0, 32).Select(i => (byte)(i * 7)).ToArray());

    [Fact]
    public void Create_FullEndpoint_OneSinkPerEndpointWithEveryOptionBound()
    {
        var env = new Dictionary<string, string> { ["SOC_SECRET"] = Secret32, ["OLD_SECRET"] = GoodSecret };
        var (sinks, errors) = Create(env,
            Endpoint(2,
                ("name", S("soc", 3)),
                ("url", S("https://soc.example.net/hooks/secmon", 4)),
                ("secret", S("${SOC_SECRET}", 5)),
                ("previous_secrets", L(6, S("${OLD_SECRET}", 6))),
                ("min_severity", S("high", 7)),
                ("rules", L(8, S("SECMON-MQTT-*", 8), S("SECMON-TLS-0001", 8))),
                ("devices", L(9, S("dev-1", 9))),
                ("timeout", S("20s", 10)),
                ("retry_schedule", L(11, S("1s", 11), S("1m", 11))),
                ("max_in_flight", S("4", 12)),
                ("circuit_breaker", M(13, ("failures", S("3", 14)), ("cool_down", S("1m", 15)))),
                ("allow_addresses", L(16, S("10.9.0.0/16", 16), S("127.0.0.1", 16))),
                ("block_private_addresses", S("true", 17))),
            Endpoint(18, ("name", S("second", 19)), ("url", S("https://b.example.net/", 20)), ("secret", S("${SOC_SECRET}", 21))));

        Assert.Empty(errors.Items);
        Assert.Equal(["webhook-soc", "webhook-second"], sinks.Select(s => s.Name));
        Assert.All(sinks, s => Assert.True(s.NeedsSpool));
        var o = ((WebhookSink)sinks[0]).Options;
        Assert.Equal(2, o.Secrets.Count);
        Assert.Equal(Severity.High, o.MinSeverity);
        Assert.Equal(["SECMON-MQTT-*", "SECMON-TLS-0001"], o.Rules);
        Assert.Equal(["dev-1"], o.Devices);
        Assert.Equal(TimeSpan.FromSeconds(20), o.Timeout);
        Assert.Equal([TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(1)], o.RetrySchedule);
        Assert.Equal(4, o.MaxInFlight);
        Assert.Equal(3, o.CircuitFailures);
        Assert.Equal(TimeSpan.FromMinutes(1), o.CircuitCoolDown);
        Assert.Equal(["10.9.0.0/16", "127.0.0.1/32"], o.AllowAddresses.Select(n => n.ToString()));
        Assert.True(o.BlockPrivateAddresses);
        var defaults = ((WebhookSink)sinks[1]).Options;
        Assert.Equal(WebhookOptions.SpecRetrySchedule, defaults.RetrySchedule);
        Assert.Equal(Severity.Low, defaults.MinSeverity);
        Assert.Equal(TimeSpan.FromSeconds(15), defaults.Timeout);
    }

    [Fact]
    public void Create_BadValues_EveryErrorLocatedByLineAndNoSinkAndNoSecretRepeated()
    {
        const string NotBase64 = "whsec_this-is-not*base64!!";
        const string TooShort = "whsec_c2hvcnQ=";
        var (sinks, errors) = Create([],
            Endpoint(2,
                ("name", S("soc", 3)),
                ("url", S("http://soc.example.net/hooks", 4)),
                ("secret", S(NotBase64, 5)),
                ("previous_secrets", L(6, S(TooShort, 6))),
                ("retry_schedule", L(7, S("5s", 7), S("soon", 7))),
                ("min_severity", S("urgent", 8)),
                ("allow_addresses", L(9, S("not-an-address", 9))),
                ("timout", S("5s", 10))),
            Endpoint(11, ("name", S("soc", 12)), ("url", S("https://127.0.0.1:9000/", 13)), ("secret", S(GoodSecret, 14))),
            Endpoint(15, ("name", S("bad name!", 16)), ("url", S("https://169.254.169.254/latest", 17))));

        Assert.Empty(sinks);
        var text = errors.Items.Where(e => !e.IsWarning).Select(e => e.ToString()).ToList();
        AssertError(text, "secmon.yaml:4:", "outputs.webhooks[0].url", "plain http to soc.example.net is refused");
        AssertError(text, "secmon.yaml:5:", "outputs.webhooks[0].secret", "part after whsec_ is not base64");
        AssertError(text, "secmon.yaml:6:", "outputs.webhooks[0].previous_secrets", "holds 24 to 64 random bytes; this one holds 5");
        AssertError(text, "secmon.yaml:7:", "outputs.webhooks[0].retry_schedule", "'soon' is not a duration");
        AssertError(text, "secmon.yaml:8:", "outputs.webhooks[0].min_severity", "'urgent' is not one of: low, medium, high, critical");
        AssertError(text, "secmon.yaml:9:", "outputs.webhooks[0].allow_addresses", "'not-an-address' is not an address");
        AssertError(text, "secmon.yaml:10:", "outputs.webhooks[0].timout", "unknown key");
        AssertError(text, "secmon.yaml:12:", "outputs.webhooks[1].name", "another webhook is already named 'soc'");
        AssertError(text, "secmon.yaml:13:", "outputs.webhooks[1].url", "127.0.0.1 is loopback");
        AssertError(text, "secmon.yaml:16:", "outputs.webhooks[2].name", "'bad name!' is not a usable name");
        AssertError(text, "secmon.yaml:17:", "outputs.webhooks[2].url", "169.254.169.254 is link-local");
        AssertError(text, "secmon.yaml:15:", "outputs.webhooks[2].secret", "required key is missing");
        Assert.Equal(12, text.Count);
        foreach (var secret in new[] { NotBase64, TooShort, GoodSecret, "c2hvcnQ", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" })
        {
            Assert.All(errors.Items, e => Assert.DoesNotContain(secret, e.ToString(), StringComparison.Ordinal));
        }
    }

    [Fact]
    public void Create_LoopbackUrlNamedInAllowAddressesAndHttpHostAllowed_Accepted()
    {
        var (sinks, errors) = Create(new Dictionary<string, string> { ["S"] = GoodSecret },
            Endpoint(2, ("name", S("local", 3)), ("url", S("http://127.0.0.1:8080/hook", 4)), ("secret", S("${S}", 5)),
                ("allow_http_hosts", L(6, S("127.0.0.1", 6))), ("allow_addresses", L(7, S("127.0.0.0/8", 7)))));

        Assert.Empty(errors.Items);
        Assert.Equal("webhook-local", Assert.Single(sinks).Name);
    }

    [Fact]
    public void Create_SecretWrittenInTheFile_WarnsWithoutRepeatingIt()
    {
        var (sinks, errors) = Create([], Endpoint(2, ("name", S("soc", 3)), ("url", S("https://a.example/", 4)), ("secret", S(GoodSecret, 5))));

        Assert.Single(sinks);
        var warning = Assert.Single(errors.Items);
        Assert.True(warning.IsWarning);
        Assert.StartsWith("secmon.yaml:5:", warning.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain(GoodSecret[6..], warning.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Create_DisabledOrAbsent_NoSinks()
    {
        var (disabled, errors) = Create(new Dictionary<string, string> { ["S"] = GoodSecret },
            Endpoint(2, ("name", S("soc", 3)), ("url", S("https://a.example/", 4)), ("secret", S("${S}", 5)), ("enabled", S("false", 6))));
        Assert.Empty(disabled);
        Assert.Empty(errors.Items);

        var none = new ConfigErrors();
        Assert.Empty(new WebhookOutputFactory().Create(new ConfigSection(M(1), "outputs", none), new OutputContext("data", TimeProvider.System)));
        Assert.Empty(none.Items);
    }

    [Fact]
    public void Create_SigningKeyOnly_AcceptedAndABadKeyLocatedWithoutRepeatingIt()
    {
        var key = "whsk_" + Convert.ToBase64String(Enumerable.Range(1, 32).Select(i => (byte)i).ToArray());
        var (sinks, errors) = Create(new Dictionary<string, string> { ["K"] = key, ["BAD"] = "whsk_AAAA" },
            Endpoint(2, ("name", S("soc", 3)), ("url", S("https://a.example/", 4)), ("signing_key", S("${K}", 5))),
            Endpoint(6, ("name", S("two", 7)), ("url", S("https://b.example/", 8)), ("signing_key", S("${BAD}", 9))));

        Assert.Empty(sinks);
        var error = Assert.Single(errors.Items);
        Assert.StartsWith("secmon.yaml:9:", error.ToString(), StringComparison.Ordinal);
        Assert.Contains("outputs.webhooks[1].signing_key: not a Standard Webhooks signing key", error.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("AAAA", error.ToString(), StringComparison.Ordinal);

        (sinks, errors) = Create(new Dictionary<string, string> { ["K"] = key },
            Endpoint(2, ("name", S("soc", 3)), ("url", S("https://a.example/", 4)), ("signing_key", S("${K}", 5))));
        Assert.Empty(errors.Items);
        var options = ((WebhookSink)Assert.Single(sinks)).Options;
        Assert.Empty(options.Secrets);
        Assert.StartsWith("whpk_", Assert.Single(options.SigningKeys).PublicKey, StringComparison.Ordinal);
    }

    private static void AssertError(List<string> errors, string location, string path, string message) =>
        Assert.Contains(errors, e => e.StartsWith(location, StringComparison.Ordinal) && e.Contains(path + ": ", StringComparison.Ordinal)
            && e.Contains(message, StringComparison.Ordinal));

    [Fact]
    public void Create_CaCertificate_APemFileIsLoadedAndAMissingOrForeignFileIsAnErrorAtItsLine()
    {
        var dir = Directory.CreateTempSubdirectory("secmon-webhook-ca-").FullName;
        try
        {
            using var key = System.Security.Cryptography.ECDsa.Create();
            using var ca = new System.Security.Cryptography.X509Certificates.CertificateRequest("CN=Receivers CA", key,
                System.Security.Cryptography.HashAlgorithmName.SHA256).CreateSelfSigned(DateTimeOffset.UtcNow, DateTimeOffset.UtcNow.AddDays(1));
            var pem = Path.Combine(dir, "ca.pem");
            File.WriteAllText(pem, ca.ExportCertificatePem());
            var notPem = Path.Combine(dir, "key.txt");
            File.WriteAllText(notPem, "not a certificate");

            var (sinks, errors) = Create([], Endpoint(2, ("name", S("soc", 3)), ("url", S("https://soc.example.net/", 4)),
                ("secret", S(GoodSecret, 5)), ("ca_certificate", S(pem, 6))));
            Assert.DoesNotContain(errors.Items, e => !e.IsWarning);
            Assert.Equal(ca.Thumbprint, Assert.Single(((WebhookSink)Assert.Single(sinks)).Options.CaCertificate!).Thumbprint);

            (_, errors) = Create([], Endpoint(2, ("name", S("soc", 3)), ("url", S("https://soc.example.net/", 4)),
                ("secret", S(GoodSecret, 5)), ("ca_certificate", S(notPem, 6))));
            Assert.Contains(errors.Items, e => e.ToString().StartsWith("secmon.yaml:6:", StringComparison.Ordinal) && e.Message.Contains("no PEM certificate", StringComparison.Ordinal));

            (_, errors) = Create([], Endpoint(2, ("name", S("soc", 3)), ("url", S("https://soc.example.net/", 4)),
                ("secret", S(GoodSecret, 5)), ("ca_certificate", S(Path.Combine(dir, "missing.pem"), 7))));
            Assert.Contains(errors.Items, e => e.ToString().StartsWith("secmon.yaml:7:", StringComparison.Ordinal));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static (IReadOnlyList<IFindingSink> Sinks, ConfigErrors Errors) Create(Dictionary<string, string> env, params ConfigNode[] endpoints)
    {
        var errors = new ConfigErrors();
        var outputs = M(1, ("webhooks", ConfigNode.Sequence(endpoints, new ConfigLocation("secmon.yaml", 2, 3))));
        var section = new ConfigSection(outputs, "outputs", errors, name => env.GetValueOrDefault(name));
        var sinks = new WebhookOutputFactory().Create(section, new OutputContext("data", TimeProvider.System));
        return (sinks, errors);
    }

    private static ConfigNode Endpoint(int line, params (string Key, ConfigNode Value)[] entries) => M(line, entries);

    private static ConfigNode S(string value, int line) => ConfigNode.Scalar(value, new ConfigLocation("secmon.yaml", line, 9));

    private static ConfigNode L(int line, params ConfigNode[] items) => ConfigNode.Sequence(items, new ConfigLocation("secmon.yaml", line, 9));

    private static ConfigNode M(int line, params (string Key, ConfigNode Value)[] entries) =>
        ConfigNode.Mapping([.. entries.Select(e => KeyValuePair.Create(e.Key, e.Value))], new ConfigLocation("secmon.yaml", line, 5));
}
