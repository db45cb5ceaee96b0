using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using SecMon.Core;
using SecMon.Core.Devices;
using SecMon.Findings.Devices;
using SecMon.Findings.Summary;

namespace SecMon.Hardening;

/// <summary>
/// Writes a <see cref="HardeningPlan"/> as JSON lines (a contract: <c>secmon ca token create --from-plan</c> reads
/// it), a table, or Markdown. JSON: per broker one <c>{"kind":"broker","broker":"ADDR:PORT","accepts":[...],
/// "devices_needing_work":N,"summary":"..."}</c>, then one <c>{"kind":"device","device_id":...,"identity":...,
/// "identity_source":...,"broker":...,"posture":"anonymous"|"password_cleartext","needs":[...],"client_ids":[...],
/// "usernames":[...],"mac":...,"ips":[...],"last_seen":...,"steps":[...]}</c> per device needing work there.
/// </summary>
internal static class PlanWriter
{
    private static readonly JsonWriterOptions Options = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>The name of a need in JSON.</summary>
    public static string NeedName(DeviceNeed need) => need switch
    {
        DeviceNeed.ClientCertificate => "client_certificate",
        DeviceNeed.StopCleartextPassword => "stop_cleartext_password",
        _ => need.ToString(),
    };

    /// <summary>The plan as JSON lines.</summary>
    public static IEnumerable<string> JsonLines(HardeningPlan plan)
    {
        ArgumentNullException.ThrowIfNull(plan);
        foreach (var b in plan.Brokers)
        {
            yield return Json(w =>
            {
                w.WriteString("kind", "broker");
                w.WriteString("broker", b.Endpoint.ToString());
                w.WriteStartArray("accepts");
                foreach (var a in b.Accepts)
                {
                    w.WriteStringValue(DeviceJson.AuthName(a));
                }

                w.WriteEndArray();
                w.WriteNumber("devices_needing_work", b.Devices.Count);
                w.WriteString("summary", b.Summary);
            });
            foreach (var d in b.Devices)
            {
                yield return Json(w =>
                {
                    w.WriteString("kind", "device");
                    w.WriteString("device_id", d.DeviceId);
                    w.WriteString("identity", d.Identity);
                    w.WriteString("identity_source", d.IdentitySource);
                    if (d.IdentityNote is { } note)
                    {
                        w.WriteString("identity_note", note);
                    }

                    w.WriteString("broker", d.Broker.ToString());
                    w.WriteString("posture", DeviceJson.AuthName(d.Posture));
                    Strings(w, "needs", [.. d.Needs.Select(NeedName)]);
                    Strings(w, "client_ids", d.ClientIds);
                    Strings(w, "usernames", d.Usernames);
                    if (d.Mac is { } mac)
                    {
                        w.WriteString("mac", mac);
                    }

                    Strings(w, "ips", d.Ips);
                    w.WriteString("last_seen", Time.FormatMicros(d.LastSeenMicros));
                    Strings(w, "steps", d.Steps);
                });
            }
        }
    }

    /// <summary>The plan as a table (one row per device, and one per broker without any), then a summary line.</summary>
    public static void Table(HardeningPlan plan, TextWriter output)
    {
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentNullException.ThrowIfNull(output);
        if (plan.Brokers.Count == 0)
        {
            output.WriteLine("No MQTT brokers in the inventory: run 'secmon analyze FILE' (or 'secmon capture') to build it.");
            return;
        }

        foreach (var b in plan.Brokers)
        {
            output.WriteLine($"Broker {b.Endpoint}: {b.Summary}");
            if (b.Devices.Count == 0)
            {
                continue;
            }

            var table = new TextTable(
                new TextColumn("IDENTITY (CN)", MaxWidth: 40),
                new TextColumn("DEVICE", MaxWidth: 40),
                new TextColumn("POSTURE"),
                new TextColumn("CLIENT IDS", MaxWidth: 40),
                new TextColumn("USERS", MaxWidth: 30),
                new TextColumn("IPS", MaxWidth: 40),
                new TextColumn("NEEDS"),
                new TextColumn("LAST SEEN (UTC)"));
            foreach (var d in b.Devices)
            {
                table.Add(d.Identity, d.DeviceId, DeviceJson.AuthName(d.Posture), List(d.ClientIds), List(d.Usernames), List(d.Ips),
                    string.Join(",", d.Needs.Select(NeedName)), Time.FormatMicros(d.LastSeenMicros)[..19].Replace('T', ' '));
            }

            table.Write(output);
            output.WriteLine();
        }

        var n = plan.DevicesNeedingWork;
        output.WriteLine(n == 0
            ? "No device needs work."
            : $"{n} device{(n == 1 ? "" : "s")} to move to client certificates. Steps per device: --json or --markdown FILE.");
    }

    /// <summary>The plan as a Markdown report an operator can hand on: what each broker accepts, the devices and, for
    /// each, its identity and the steps. Every value from the network is escaped (it may hold Markdown or HTML).</summary>
    public static string Markdown(HardeningPlan plan, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(plan);
        var md = new StringBuilder();
        md.AppendLine("# MQTT hardening plan");
        md.AppendLine();
        md.AppendLine(string.Create(CultureInfo.InvariantCulture, $"Made by `secmon harden plan` on {now.UtcDateTime:yyyy-MM-dd HH:mm} UTC from the device inventory. ") +
            "Each device below logs in anonymously or sends its password in clear; it gets a client certificate from SecMon's CA " +
            "(its certificate name is the identity shown) and moves to the broker's TLS listener. When every device of a broker has " +
            "moved, `secmon harden mosquitto --broker ADDR:PORT` writes the listener configuration and the ACL for it.");
        md.AppendLine();
        if (plan.Brokers.Count == 0)
        {
            md.AppendLine("No MQTT brokers in the inventory yet.");
            return md.ToString();
        }

        foreach (var b in plan.Brokers)
        {
            md.AppendLine(CultureInfo.InvariantCulture, $"## Broker {Code(b.Endpoint.ToString())}");
            md.AppendLine();
            md.AppendLine(Text(char.ToUpperInvariant(b.Summary[0]) + b.Summary[1..]) + ".");
            md.AppendLine();
            if (b.Devices.Count == 0)
            {
                continue;
            }

            md.AppendLine("| identity (certificate CN) | device | posture | client ids | users | MAC | IPs | last seen (UTC) |");
            md.AppendLine("|---|---|---|---|---|---|---|---|");
            foreach (var d in b.Devices)
            {
                md.AppendLine(CultureInfo.InvariantCulture,
                    $"| {Code(d.Identity)} | {Code(d.DeviceId)} | {DeviceJson.AuthName(d.Posture)} | {Codes(d.ClientIds)} | {Codes(d.Usernames)} | {Code(d.Mac ?? "")} | {Codes(d.Ips)} | {Time.FormatMicros(d.LastSeenMicros)[..19].Replace('T', ' ')} |");
            }

            md.AppendLine();
            foreach (var d in b.Devices)
            {
                md.AppendLine(CultureInfo.InvariantCulture, $"### {Code(d.Identity)}");
                md.AppendLine();
                md.AppendLine($"Needs: {string.Join(", ", d.Needs.Select(NeedText))}." +
                    (d.IdentityNote is { } note ? $" Named by its SecMon device id: {Text(note)}." : ""));
                md.AppendLine();
                var i = 1;
                foreach (var step in d.Steps)
                {
                    md.AppendLine(CultureInfo.InvariantCulture, $"{i++}. {StepText(step)}");
                }

                md.AppendLine();
            }
        }

        return md.ToString();
    }

    private static string NeedText(DeviceNeed need) => need switch
    {
        DeviceNeed.ClientCertificate => "a client certificate",
        DeviceNeed.StopCleartextPassword => "to stop sending its password in clear",
        _ => need.ToString(),
    };

    // "on the CA: COMMAND" → "On the CA: `COMMAND`"; the identity inside is a valid certificate name (no backticks).
    private static string StepText(string step)
    {
        var colon = step.IndexOf(": secmon ", StringComparison.Ordinal);
        return colon > 0
            ? char.ToUpperInvariant(step[0]) + step[1..(colon + 2)] + "`" + step[(colon + 2)..] + "`"
            : Text(char.ToUpperInvariant(step[0]) + step[1..]);
    }

    // A value from the network inside a code span: backticks and line breaks cannot end it or start a new block, and a
    // pipe cannot split the table cell.
    private static string Code(string value)
    {
        if (value.Length == 0)
        {
            return "";
        }

        var safe = new string([.. value.Select(c => char.IsControl(c) ? '?' : c == '`' ? '\'' : c)]).Replace("|", "\\|", StringComparison.Ordinal);
        return "`" + safe + "`";
    }

    private static string Codes(IReadOnlyList<string> values) => string.Join(", ", values.Take(10).Select(Code)) + (values.Count > 10 ? $" (+{values.Count - 10})" : "");

    // Plain text: Markdown and HTML punctuation escaped.
    private static string Text(string value)
    {
        var sb = new StringBuilder(value.Length);
        foreach (var c in value)
        {
            if (char.IsControl(c))
            {
                sb.Append(' ');
            }
            else
            {
                if (c is '\\' or '`' or '*' or '_' or '[' or ']' or '<' or '>' or '|' or '#')
                {
                    sb.Append('\\');
                }

                sb.Append(c);
            }
        }

        return sb.ToString();
    }

    private static string? List(IReadOnlyList<string> values) => values.Count == 0 ? null : string.Join(",", values);

    private static void Strings(Utf8JsonWriter w, string name, IReadOnlyList<string> values)
    {
        w.WriteStartArray(name);
        foreach (var v in values)
        {
            w.WriteStringValue(v);
        }

        w.WriteEndArray();
    }

    private static string Json(Action<Utf8JsonWriter> write)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, Options))
        {
            w.WriteStartObject();
            write(w);
            w.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }
}
