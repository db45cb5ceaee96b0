using System.Globalization;
using System.Text;
using SecMon.Core.Devices;

namespace SecMon.Hardening;

/// <summary>Where the generated listener finds its files.</summary>
internal sealed record MosquittoSettings
{
    /// <summary>The CA chain the broker trusts client certificates from (SecMon's <c>chain.pem</c>: issuing CA and root).</summary>
    public required string CaFile { get; init; }

    /// <summary>The CRL file (SecMon's <c>crl.pem</c>, rewritten by every revocation).</summary>
    public required string CrlFile { get; init; }

    /// <summary>The ACL file's path as the broker will read it.</summary>
    public required string AclFile { get; init; }

    /// <summary>The broker's own certificate; null: a placeholder path, explained in a comment.</summary>
    public string? CertFile { get; init; }

    /// <summary>The broker's own key (not encrypted: mosquitto cannot ask for a passphrase); null: a placeholder.</summary>
    public string? KeyFile { get; init; }

    /// <summary>The TLS listener's port. Default 8883.</summary>
    public int Port { get; init; } = 8883;

    /// <summary>The address the listener binds to; null: every address.</summary>
    public string? BindAddress { get; init; }
}

/// <summary>A device whose observed topics the ACL does not allow: it would be refused there once it moves.</summary>
internal sealed record AclBreakage(string Identity, string DeviceId, IReadOnlyList<string> Topics, string Reason);

/// <summary>The generated files and what they mean for the devices.</summary>
internal sealed record MosquittoConfigResult
{
    /// <summary>The listener snippet (mosquitto.conf syntax).</summary>
    public required string Listener { get; init; }

    /// <summary>The ACL file.</summary>
    public required string Acl { get; init; }

    /// <summary>The pattern line when every device keeps to a namespace of its own (<c>site/%u/#</c>); null when the ACL
    /// lists topics per identity.</summary>
    public string? Pattern { get; init; }

    /// <summary>The identities the ACL names (each device of the broker).</summary>
    public IReadOnlyList<(string Identity, string DeviceId)> Identities { get; init; } = [];

    /// <summary>Devices that would be refused topics they were seen using.</summary>
    public IReadOnlyList<AclBreakage> WouldBreak { get; init; } = [];
}

/// <summary>
/// Builds a mosquitto (2.0) configuration from what SecMon observed at one broker: a mutual-TLS listener that takes
/// the certificate CN as the user name (<c>use_identity_as_username</c>) and checks SecMon's CRL, and an ACL that
/// confines each identity to the topics it was seen using. When every device with topics used some under a common
/// prefix followed by its own client id (<c>site/&lt;client id&gt;/...</c>) the ACL is one <c>pattern readwrite
/// site/%u/#</c> (mosquitto substitutes the user name for <c>%u</c>); otherwise one <c>user</c> block per identity with
/// its observed topic patterns. Topics a device used outside what the ACL allows are listed (and written as comments),
/// never silently dropped.
/// </summary>
internal static class MosquittoConfig
{
    /// <summary>The device value name of MQTT topics and topic filters in the inventory.</summary>
    public const string TopicValues = "mqtt.topic";

    /// <summary>The devices of <paramref name="broker"/> (port 0: any port of the address) and their identities and topics.</summary>
    public static List<(string Identity, Device Device, SortedSet<string> Topics)> DevicesOf(HardeningInputs inputs, BrokerEndpoint broker)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        var clients = PlanBuilder.Clients(inputs).Where(c => c.Endpoints.Any(e => e.Matches(broker))).ToList();
        var names = PlanBuilder.Identities(clients.Select(c => c.Device));
        return [.. clients
            .Select(c =>
            {
                var topics = new SortedSet<string>(c.Device.ValuesOf(TopicValues), StringComparer.Ordinal);
                if (inputs.LearnedTopics.TryGetValue(c.Device.Id, out var learned))
                {
                    topics.UnionWith(learned);
                }

                return (names[c.Device.Id].Identity, c.Device, topics);
            })
            .OrderBy(x => x.Identity, StringComparer.Ordinal)
            .ThenBy(x => x.Device.Id, StringComparer.Ordinal)];
    }

    /// <summary>Generates the listener snippet and the ACL.</summary>
    public static MosquittoConfigResult Generate(IReadOnlyList<(string Identity, Device Device, SortedSet<string> Topics)> devices, BrokerEndpoint broker,
        MosquittoSettings settings, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(devices);
        ArgumentNullException.ThrowIfNull(settings);
        var breaks = new List<AclBreakage>();
        var acl = new StringBuilder();
        acl.AppendLine(CultureInfo.InvariantCulture, $"# mosquitto ACL for the mutual-TLS listener of broker {broker.Display}, written by `secmon harden mosquitto` on {now.UtcDateTime:yyyy-MM-dd HH:mm} UTC");
        acl.AppendLine("# from the topics each device was seen using. The user name is the client certificate's CN (use_identity_as_username).");
        acl.AppendLine("# Lines starting with '# would break:' are topics a device used that this ACL does not allow: allow them");
        acl.AppendLine("# (uncomment) only if that device should write or read there.");

        var prefix = CommonNamespacePrefix(devices);
        string? pattern = null;
        if (prefix is not null)
        {
            pattern = "pattern readwrite " + (prefix.Length == 0 ? "" : prefix + "/") + "%u/#";
            acl.AppendLine("# Every device used topics under " + (prefix.Length == 0 ? "" : prefix + "/") + "<its client id>/: one pattern confines each to its own.");
            acl.AppendLine(pattern);
            foreach (var (identity, device, topics) in devices)
            {
                var outside = topics.Where(t => !Under(t, prefix, identity)).ToList();
                if (outside.Count > 0)
                {
                    breaks.Add(new AclBreakage(identity, device.Id, outside, $"outside {(prefix.Length == 0 ? "" : prefix + "/")}{identity}/#"));
                }
            }

            if (breaks.Count > 0)
            {
                acl.AppendLine();
                foreach (var b in breaks)
                {
                    acl.AppendLine(CultureInfo.InvariantCulture, $"# would break: {b.Identity} (device {b.DeviceId}) used topics {b.Reason}:");
                    acl.AppendLine(CultureInfo.InvariantCulture, $"# user {b.Identity}");
                    foreach (var t in b.Topics.Where(Writable))
                    {
                        acl.AppendLine(CultureInfo.InvariantCulture, $"# topic readwrite {t}");
                    }
                }
            }
        }
        else
        {
            acl.AppendLine("# The devices share no <prefix>/<client id>/ convention: each identity gets the topic patterns it used.");
            foreach (var (identity, device, topics) in devices)
            {
                acl.AppendLine();
                acl.AppendLine(CultureInfo.InvariantCulture, $"user {identity}");
                if (topics.Count == 0)
                {
                    acl.AppendLine("# no topics seen: nothing allowed");
                }

                foreach (var t in topics.Where(Writable))
                {
                    acl.AppendLine(CultureInfo.InvariantCulture, $"topic readwrite {t}");
                }

                var unwritable = topics.Where(t => !Writable(t)).ToList();
                if (unwritable.Count > 0)
                {
                    breaks.Add(new AclBreakage(identity, device.Id, unwritable, "with spaces or control characters, which an ACL line cannot hold"));
                }
            }
        }

        return new MosquittoConfigResult
        {
            Listener = Listener(broker, settings, now),
            Acl = acl.ToString(),
            Pattern = pattern,
            Identities = [.. devices.Select(d => (d.Identity, d.Device.Id))],
            WouldBreak = breaks,
        };
    }

    /// <summary>The prefix (levels before the client id, possibly empty) under which every device with topics used at
    /// least one topic followed by its own identity as a whole level; null when there is none (or no device used a topic).
    /// When several fit, the one covering the most topics, then the longest.</summary>
    internal static string? CommonNamespacePrefix(IReadOnlyList<(string Identity, Device Device, SortedSet<string> Topics)> devices)
    {
        HashSet<string>? common = null;
        var covered = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var (identity, _, topics) in devices)
        {
            if (topics.Count == 0)
            {
                continue;
            }

            var mine = new HashSet<string>(StringComparer.Ordinal);
            foreach (var t in topics)
            {
                var levels = t.Split('/');
                for (var k = 0; k < levels.Length; k++)
                {
                    if (levels[k] == identity && !levels[..k].Any(l => l is "+" or "#"))
                    {
                        var p = string.Join('/', levels[..k]);
                        mine.Add(p);
                        covered[p] = covered.GetValueOrDefault(p) + 1;
                        break;
                    }
                }
            }

            if (common is null)
            {
                common = mine;
            }
            else
            {
                common.IntersectWith(mine);
            }
        }

        return common is null || common.Count == 0
            ? null
            : common.OrderByDescending(p => covered[p]).ThenByDescending(p => p.Length).ThenBy(p => p, StringComparer.Ordinal).First();
    }

    /// <summary>True when <paramref name="topic"/> is under <c>prefix/identity</c> (what <c>prefix/%u/#</c> allows).</summary>
    internal static bool Under(string topic, string prefix, string identity)
    {
        var own = (prefix.Length == 0 ? "" : prefix + "/") + identity;
        return topic == own || topic.StartsWith(own + "/", StringComparison.Ordinal);
    }

    // An ACL line holds one topic to the end of the line: no line breaks, and no spaces that a reader could take apart.
    private static bool Writable(string topic) => topic.Length > 0 && !topic.Any(c => char.IsControl(c) || char.IsWhiteSpace(c));

    private static string Listener(BrokerEndpoint broker, MosquittoSettings s, DateTimeOffset now)
    {
        var c = new StringBuilder();
        c.AppendLine(CultureInfo.InvariantCulture, $"# Mutual-TLS listener for the devices of broker {broker.Display}, written by `secmon harden mosquitto` on {now.UtcDateTime:yyyy-MM-dd HH:mm} UTC.");
        c.AppendLine("# Add it to mosquitto.conf (paste it, or `include_dir` its directory) and reload mosquitto (SIGHUP, or systemctl reload).");
        c.AppendLine("# Devices present a certificate from SecMon's CA; its CN becomes their user name, and the ACL confines each to its topics.");
        c.AppendLine("# acl_file: with per_listener_settings false (mosquitto's default) it applies to EVERY listener of the broker, and");
        c.AppendLine("# clients of an old anonymous or password listener would be refused topics by it: keep the old listener until every");
        c.AppendLine("# device has moved, with `per_listener_settings true` at the top of mosquitto.conf (each listener then carries its own");
        c.AppendLine("# allow_anonymous / password_file / acl_file), or add acl_file only once the old listener is closed.");
        c.AppendLine(CultureInfo.InvariantCulture, $"listener {s.Port}{(s.BindAddress is { } a ? " " + a : "")}");
        c.AppendLine("# SecMon's CA chain (issuing CA and root): read-only certificates, no passphrase needed.");
        c.AppendLine(CultureInfo.InvariantCulture, $"cafile {s.CaFile}");
        c.AppendLine("# SecMon's CRL, rewritten by every `secmon ca revoke`: reload mosquitto after each change to lock a revoked device out.");
        c.AppendLine(CultureInfo.InvariantCulture, $"crlfile {s.CrlFile}");
        if (s.CertFile is null || s.KeyFile is null)
        {
            c.AppendLine("# The broker's own certificate and key (replace the paths): make a key and CSR on the broker,");
            c.AppendLine("#   openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout broker.key -subj /CN=broker.lan -out broker.csr");
            c.AppendLine("#   secmon ca issue --csr broker.csr --profile server --dns broker.lan --ip ADDRESS --out broker.crt");
        }

        c.AppendLine(CultureInfo.InvariantCulture, $"certfile {s.CertFile ?? "/etc/mosquitto/certs/broker.crt"}");
        c.AppendLine(CultureInfo.InvariantCulture, $"keyfile {s.KeyFile ?? "/etc/mosquitto/certs/broker.key"}");
        c.AppendLine("require_certificate true");
        c.AppendLine("use_identity_as_username true");
        c.AppendLine("# TLS 1.3 encrypts the client certificate: SecMon then infers mutual TLS from the server's request alone.");
        c.AppendLine("# Uncomment to let SecMon's inventory read each device's certificate from the handshake:");
        c.AppendLine("#tls_version tlsv1.2");
        c.AppendLine(CultureInfo.InvariantCulture, $"acl_file {s.AclFile}");
        return c.ToString();
    }
}
