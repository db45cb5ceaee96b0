using System.Reflection;
using System.Security.Cryptography;
using System.Text;

namespace SecMon.Core.Findings;

/// <summary>
/// Who made a finding: the sensor (ECS <c>observer.*</c>, with the stable id as <c>agent.id</c>, since ECS has no
/// <c>observer.id</c>). Several sensors writing to one cluster keep their findings apart by it. The host fills it in
/// (the configured name and id); <see cref="ForThisHost"/> is the default when nothing is configured.
/// </summary>
public sealed record SensorIdentity
{
    /// <summary>ECS <c>observer.name</c> and <c>agent.name</c>: the name the operator gave the sensor. Default: the host name.</summary>
    public required string Name { get; init; }

    /// <summary>ECS <c>observer.hostname</c>: the host the sensor runs on.</summary>
    public string? Hostname { get; init; }

    /// <summary>ECS <c>agent.id</c>: a stable id of the sensor (the same on every run). Default: derived from the
    /// host name (<see cref="StableId"/>); a configured or persisted id replaces it.</summary>
    public required string Id { get; init; }

    /// <summary>ECS <c>observer.version</c> and <c>agent.version</c>: SecMon's version.</summary>
    public string? Version { get; init; }

    /// <summary>ECS <c>observer.ip</c>: the sensor's own addresses, when configured (never discovered: a document must
    /// not change because an interface got a new lease). Default: none.</summary>
    public IReadOnlyList<string> Ips { get; init; } = [];

    /// <summary>SecMon's version (the informational version of this assembly, without its source revision).</summary>
    public static string SecMonVersion { get; } = ReadVersion();

    /// <summary>The default identity: this host's name as name and host name, an id derived from it, SecMon's version.</summary>
    public static SensorIdentity ForThisHost() => ForThisHost(null, null);

    /// <summary>This host's identity with the configured <paramref name="name"/> (<c>sensor.name</c>; null: the host
    /// name) and <paramref name="id"/> (a configured or persisted id; null: derived from the host name, so renaming the
    /// sensor keeps its id).</summary>
    public static SensorIdentity ForThisHost(string? name, string? id)
    {
        var host = HostName();
        return new SensorIdentity
        {
            Name = string.IsNullOrWhiteSpace(name) ? host : name,
            Hostname = host,
            Id = string.IsNullOrWhiteSpace(id) ? StableId(host) : id,
            Version = SecMonVersion,
        };
    }

    /// <summary>A stable id derived from <paramref name="seed"/> (a host name, a configured name): 32 hex digits of
    /// SHA-256, the same for the same seed on every run and machine.</summary>
    public static string StableId(string seed)
    {
        ArgumentNullException.ThrowIfNull(seed);
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes("secmon-sensor\n" + seed.ToLowerInvariant()), hash);
        return Convert.ToHexStringLower(hash[..16]);
    }

    private static string HostName()
    {
        // Linux's host name (what gethostname returns, in this UTS namespace) read from procfs: Dns.GetHostName returns
        // the same text but loads the name-resolution assembly and its telemetry, about 20 ms of every command's start.
        try
        {
            var proc = File.ReadAllText("/proc/sys/kernel/hostname").TrimEnd('\n');
            if (!string.IsNullOrWhiteSpace(proc))
            {
                return proc;
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or NotSupportedException)
        {
            // not Linux, or procfs not mounted: ask the resolver
        }

        try
        {
            var name = System.Net.Dns.GetHostName();
            return string.IsNullOrWhiteSpace(name) ? Environment.MachineName : name;
        }
        catch (System.Net.Sockets.SocketException)
        {
            return Environment.MachineName;
        }
    }

    private static string ReadVersion()
    {
        var assembly = typeof(SensorIdentity).Assembly;
        var informational = assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion;
        if (!string.IsNullOrEmpty(informational))
        {
            var plus = informational.IndexOf('+', StringComparison.Ordinal);
            return plus < 0 ? informational : informational[..plus];
        }

        return assembly.GetName().Version?.ToString(3) ?? "0.0.0";
    }
}
