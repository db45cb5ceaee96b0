using System.Globalization;
using System.Text.Json;

namespace SecMon.Cli;

/// <summary>One device line of a hardening plan: what a token is made for.</summary>
/// <param name="Line">1-based line number in the plan.</param>
/// <param name="DeviceId">SecMon's device id (<c>device_id</c>).</param>
/// <param name="Identity">The certificate identity the device should get (<c>identity</c>: CN and SAN).</param>
/// <param name="Broker">The broker it was seen using (<c>broker</c>, ADDR:PORT).</param>
internal sealed record PlanDevice(int Line, string DeviceId, string Identity, string Broker);

/// <summary>What is wrong with one line of a plan.</summary>
/// <param name="Line">1-based line number.</param>
/// <param name="Problem">What is wrong.</param>
internal sealed record PlanProblem(int Line, string Problem)
{
    /// <inheritdoc />
    public override string ToString() => $"line {Line}: {Problem}";
}

/// <summary>
/// Reads the output of <c>secmon harden plan --json</c> for <c>ca token create --from-plan</c>: one JSON object per
/// line; lines with <c>"kind":"device"</c> carry <c>device_id</c>, <c>identity</c> and <c>broker</c>; other kinds
/// (brokers, summaries) are skipped, as are blank lines. Every line is checked before anything is made: the
/// first bad line is reported with its number and what is wrong.
/// </summary>
internal static class TokenPlan
{
    /// <summary>At most this many bytes are read (a plan for 100,000 devices is about 15 MB).</summary>
    public const int MaxBytes = 64 * 1024 * 1024;

    /// <summary>Parses the plan text; the device lines in order, or the problems (each "line N: ...").</summary>
    public static (IReadOnlyList<PlanDevice> Devices, IReadOnlyList<PlanProblem> Problems) Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var devices = new List<PlanDevice>();
        var problems = new List<PlanProblem>();
        var lines = text.Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            var line = lines[i].Trim();
            if (line.Length == 0)
            {
                continue;
            }

            var n = i + 1;
            JsonDocument doc;
            try
            {
                doc = JsonDocument.Parse(line);
            }
            catch (JsonException e)
            {
                problems.Add(new PlanProblem(n, $"not JSON ({e.Message})"));
                continue;
            }

            using (doc)
            {
                var root = doc.RootElement;
                if (root.ValueKind != JsonValueKind.Object)
                {
                    problems.Add(new PlanProblem(n, $"not a JSON object"));
                    continue;
                }

                if (!root.TryGetProperty("kind", out var kind) || kind.ValueKind != JsonValueKind.String)
                {
                    problems.Add(new PlanProblem(n, $"no \"kind\" (expected \"device\", \"broker\", ...)"));
                    continue;
                }

                if (kind.GetString() != "device")
                {
                    continue;
                }

                var deviceId = Text(root, "device_id", n, problems);
                var identity = Text(root, "identity", n, problems);
                var broker = Text(root, "broker", n, problems);
                if (broker is not null && !IsAddressAndPort(broker))
                {
                    problems.Add(new PlanProblem(n, $"\"broker\" is \"{Clip(broker)}\", not ADDR:PORT"));
                    continue;
                }

                if (deviceId is not null && identity is not null && broker is not null)
                {
                    devices.Add(new PlanDevice(n, deviceId, identity, broker));
                }
            }
        }

        return (devices, problems);
    }

    private static string? Text(JsonElement root, string name, int line, List<PlanProblem> problems)
    {
        if (root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String && value.GetString() is { Length: > 0 } s)
        {
            return s;
        }

        problems.Add(new PlanProblem(line, $"a device line needs \"{name}\" (a non-empty string)"));
        return null;
    }

    // ADDR:PORT with an IPv4 address, a [IPv6] address or a host name; port 1-65535.
    private static bool IsAddressAndPort(string s)
    {
        var colon = s.LastIndexOf(':');
        return colon > 0
            && int.TryParse(s.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var port)
            && port is > 0 and <= 65535;
    }

    private static string Clip(string s) => s.Length > 80 ? s[..80] + "..." : s;
}
