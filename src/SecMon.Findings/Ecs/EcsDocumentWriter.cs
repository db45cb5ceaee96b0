using System.Buffers;
using System.Collections;
using System.Text.Encodings.Web;
using System.Text.Json;
using SecMon.Core;
using SecMon.Core.Findings;

namespace SecMon.Findings.Ecs;

/// <summary>
/// Writes a finding's ECS document straight to UTF-8 with no intermediate tree, reusing its buffers: the store
/// serializes every finding it ingests, so this runs 100,000 times a second and must not feed the garbage collector.
/// One instance per thread (<see cref="FindingJson"/> keeps one in a thread-static field).
/// </summary>
/// <remarks>
/// Evidence keys are written in ordinal order, which keeps every key under a common dotted prefix contiguous, so a
/// nested object is opened once and closed when the prefix changes. A key whose place is taken (by a typed field,
/// another key's object, or a leaf where an object is needed) is dropped and reported to the caller's list.
/// </remarks>
internal sealed class EcsDocumentWriter : IDisposable
{
    // Relaxed escaping keeps non-ASCII text readable; quotes, backslashes and control characters are still
    // escaped (RFC 8259 §7), which is all JSON needs. The documents are never embedded in HTML.
    private static readonly JsonWriterOptions WriterOptions = new()
    {
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        SkipValidation = false,
    };

    // Top-level objects the typed properties own, in output order. Evidence under "ecs." and "threat." is refused:
    // those objects hold nested typed objects (threat.technique) that evidence cannot be merged into.
    private static readonly string[] Sections =
        ["ecs", "event", "rule", "source", "destination", "client", "server", "network", "observer", "agent", "log", "device", "host",
         "user", "threat", "related", "flow", "secmon"];

    private readonly Utf8JsonWriter _writer = new(Stream.Null, WriterOptions);
    private readonly List<string> _names = [];          // names written at each open level, innermost last
    private readonly Stack<int> _levels = new();        // start of each level's names in _names
    private readonly List<string> _openStack = [];      // evidence objects opened by WriteEvidence
    private string[] _keys = new string[32];
    private int _keyCount;
    private bool[] _used = new bool[32];
    private List<string>? _dropped;

    /// <summary>Releases the JSON writer (it holds no unmanaged resources; thread-static instances live as long as their thread).</summary>
    public void Dispose() => _writer.Dispose();

    /// <summary>Writes <paramref name="f"/> to <paramref name="output"/>; dropped evidence keys go to <paramref name="dropped"/>.</summary>
    public void Write(Finding f, IBufferWriter<byte> output, List<string>? dropped, DateTimeOffset? ingested = null)
    {
        _dropped = dropped;
        _writer.Reset(output);
        SortEvidenceKeys(f.Evidence);
        var w = _writer;
        w.WriteStartObject();
        BeginLevel();
        foreach (var section in Sections)
        {
            Typed(section); // an evidence leaf may not take a section's name, even where the section is left out
        }

        Typed("@timestamp");
        w.WriteString("@timestamp", Time.FormatMicros(f.TimestampMicros));

        Open("ecs");
        Typed("version");
        w.WriteString("version", FindingJson.EcsVersion);
        RefuseSection("ecs");
        Close();

        Open("event");
        Str("kind", "alert");
        List("category", f.Category);
        List("type", f.EventType);
        Num("severity", (int)f.Severity);
        if (f.RiskScore is { } risk && double.IsFinite(risk))
        {
            Typed("risk_score");
            _writer.WriteNumber("risk_score", risk);
        }

        Str("id", f.Id);
        Str("dataset", FindingJson.Dataset);
        Str("module", FindingJson.Module);
        if (ingested is { } at)
        {
            // Only when the caller asks (an output at the time it sends): it would make the document depend on when
            // it was written.
            Str("ingested", Time.FormatMicros(Time.ToUnixMicros(at)));
        }

        EvidenceIn("event");
        Close();

        Open("rule");
        Str("id", f.RuleId);
        Str("name", f.RuleName);
        Str("description", f.RuleDescription);
        Str("category", f.RuleCategory);
        Str("ruleset", f.Ruleset);
        Str("version", f.RuleVersion);
        Str("reference", f.RuleReference);
        EvidenceIn("rule");
        Close();

        Typed("message");
        w.WriteString("message", JsonStrings.Clean(f.Message));

        // source = client and destination = server (Finding's contract): ECS client.*/server.* repeat them, so a
        // query on either pair finds the device that opened the exchange.
        Endpoint("source", f.SourceIp, f.SourcePort, f.SourceMac);
        Endpoint("destination", f.DestinationIp, f.DestinationPort, f.DestinationMac);
        Endpoint("client", f.SourceIp, f.SourcePort, f.SourceMac);
        Endpoint("server", f.DestinationIp, f.DestinationPort, f.DestinationMac);

        if (f.Transport is not null || f.Protocol is not null || f.CommunityId is not null || HasEvidenceIn("network"))
        {
            Open("network");
            Str("transport", f.Transport);
            Str("protocol", f.Protocol);
            Str("community_id", f.CommunityId);
            EvidenceIn("network");
            Close();
        }

        Open("observer");
        Str("name", f.ObserverName);
        Str("hostname", f.ObserverHostname);
        List("ip", f.ObserverIps);
        Str("version", f.ObserverVersion);
        Str("type", "ids");
        Str("vendor", "SecMon");
        Str("product", "SecMon");
        if (f.CaptureInterface is not null)
        {
            Open("ingress");
            Open("interface");
            Str("name", f.CaptureInterface);
            Close();
            Close();
        }

        EvidenceIn("observer");
        Close();

        // ECS has no observer.id: the sensor's stable id is agent.id (the software that observed the traffic).
        if (f.ObserverId is not null || HasEvidenceIn("agent"))
        {
            Open("agent");
            Str("id", f.ObserverId);
            Str("name", f.ObserverName);
            Str("type", FindingJson.Module);
            Str("version", f.ObserverVersion);
            EvidenceIn("agent");
            Close();
        }

        if (f.SourceFile is not null)
        {
            Open("log");
            Open("file");
            Str("path", f.SourceFile);
            Close();
            Close();
        }

        RefuseSection("log");

        if (f.DeviceId is not null || HasEvidenceIn("device"))
        {
            Open("device");
            Str("id", f.DeviceId);
            EvidenceIn("device");
            Close();
        }

        if (f.DeviceIp is not null || f.DeviceMac is not null || HasEvidenceIn("host"))
        {
            // The device the finding is about, as a host: Kibana's host views and host.ip queries find it.
            Open("host");
            One("ip", f.DeviceIp);
            One("mac", f.DeviceMac);
            EvidenceIn("host");
            Close();
        }

        if (f.UserName is not null || HasEvidenceIn("user"))
        {
            Open("user");
            Str("name", f.UserName);
            EvidenceIn("user");
            Close();
        }

        if (f.ThreatTechniqueId is not null || f.ThreatTechniqueName is not null || f.ThreatTacticName is not null)
        {
            // ECS normalizes threat.technique.* and threat.tactic.* to arrays. A sub-technique (T1110.001) is written as
            // ECS has it: technique T1110 with subtechnique T1110.001.
            Open("threat");
            Str("framework", f.ThreatFramework ?? (f.ThreatTechniqueId is { } tid ? MitreAttack.FrameworkOf(tid) : null));
            var id = f.ThreatTechniqueId;
            var dot = id?.IndexOf('.', StringComparison.Ordinal) ?? -1;
            Open("technique");
            if (dot > 0)
            {
                One("id", id![..dot]);
                One("name", f.ThreatParentTechniqueName);
                One("reference", MitreAttack.TechniqueReference(id[..dot]));
                Open("subtechnique");
                One("id", id);
                One("name", f.ThreatTechniqueName);
                One("reference", MitreAttack.TechniqueReference(id));
                Close();
            }
            else
            {
                One("id", id);
                One("name", f.ThreatTechniqueName);
                One("reference", id is null ? null : MitreAttack.TechniqueReference(id));
            }

            Close();
            if (f.ThreatTacticName is not null || f.ThreatTacticId is not null)
            {
                Open("tactic");
                One("id", f.ThreatTacticId);
                One("name", f.ThreatTacticName);
                One("reference", f.ThreatTacticId is null ? null : MitreAttack.TacticReference(f.ThreatTacticId));
                Close();
            }

            Close();
        }

        RefuseSection("threat");

        if (f.RelatedIp.Count > 0 || f.RelatedUser.Count > 0 || HasEvidenceIn("related"))
        {
            Open("related");
            List("ip", f.RelatedIp);
            List("user", f.RelatedUser);
            EvidenceIn("related");
            Close();
        }

        if (f.FlowId is not null || HasEvidenceIn("flow"))
        {
            Open("flow");
            Str("id", f.FlowId);
            EvidenceIn("flow");
            Close();
        }

        Open("secmon");
        Num("event_count", f.EventCount);
        EvidenceIn("secmon");
        Close();

        // Everything else (mqtt.*, tls.*, user.*...) in key order, at the root.
        WriteEvidence(0, _keyCount, prefixLength: 0);
        EndLevel();
        w.WriteEndObject();
        w.Flush();
        Array.Clear(_keys, 0, _keyCount);
        _dropped = null;
    }

    private void SortEvidenceKeys(IReadOnlyDictionary<string, object> evidence)
    {
        _keyCount = 0;
        if (_keys.Length < evidence.Count)
        {
            _keys = new string[Math.Max(evidence.Count, _keys.Length * 2)];
            _used = new bool[_keys.Length];
        }

        foreach (var (key, value) in evidence)
        {
            if (IsAllowedKey(key) && IsLeaf(value))
            {
                _keys[_keyCount++] = key;
            }
            else
            {
                _dropped?.Add(key);
            }
        }

        Array.Sort(_keys, 0, _keyCount, StringComparer.Ordinal);
        Array.Clear(_used, 0, _keyCount);
        _evidence = evidence;
    }

    private IReadOnlyDictionary<string, object> _evidence = new Dictionary<string, object>();

    private static bool IsAllowedKey(string key)
    {
        if (key.Length == 0 || key[0] == '@' || key[0] == '.' || key[^1] == '.' || key.Contains("..", StringComparison.Ordinal))
        {
            return false;
        }

        // Defence in depth: findings never carry secrets or payload bytes (DESIGN.md "The spine").
        var last = key.AsSpan(key.LastIndexOf('.') + 1);
        return !last.Equals("password", StringComparison.OrdinalIgnoreCase) && !last.Equals("payload", StringComparison.OrdinalIgnoreCase);
    }

    // Evidence values: string, integral numbers, bool, finite double, or a list of those (Finding.Evidence contract).
    private static bool IsLeaf(object? value) => value switch
    {
        string or long or int or short or byte or uint or ushort or sbyte or bool => true,
        double d => double.IsFinite(d),
        float f => float.IsFinite(f),
        IEnumerable list => IsScalarList(list),
        _ => false,
    };

    private static bool IsScalarList(IEnumerable list)
    {
        foreach (var item in list)
        {
            if (item is IEnumerable and not string || !IsLeaf(item))
            {
                return false;
            }
        }

        return true;
    }

    // The keys under "<section>." form one contiguous run of the sorted keys.
    private (int Start, int End) Range(string section)
    {
        var lo = 0;
        var hi = _keyCount;
        while (lo < hi)
        {
            var mid = (lo + hi) >>> 1;
            if (ComparePrefix(_keys[mid], section) < 0)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }

        var end = lo;
        while (end < _keyCount && ComparePrefix(_keys[end], section) == 0)
        {
            end++;
        }

        return (lo, end);
    }

    // Orders a key against the run "<section>.*": negative before it, 0 inside, positive after.
    private static int ComparePrefix(string key, string section)
    {
        var c = string.CompareOrdinal(key, 0, section, 0, section.Length);
        if (c != 0)
        {
            return c;
        }

        if (key.Length == section.Length)
        {
            return -1; // "section" itself sorts just before "section.*"
        }

        return key[section.Length].CompareTo('.');
    }

    private bool HasEvidenceIn(string section)
    {
        var (start, end) = Range(section);
        return start < end;
    }

    private void EvidenceIn(string section)
    {
        var (start, end) = Range(section);
        WriteEvidence(start, end, section.Length + 1);
    }

    private void RefuseSection(string section)
    {
        var (start, end) = Range(section);
        for (var i = start; i < end; i++)
        {
            _used[i] = true;
            _dropped?.Add(_keys[i]);
        }
    }

    // Writes keys[start..end) (each minus its first prefixLength characters) into the current object.
    private void WriteEvidence(int start, int end, int prefixLength)
    {
        var stack = _openStack;
        stack.Clear();
        for (var i = start; i < end; i++)
        {
            if (_used[i])
            {
                continue;
            }

            _used[i] = true;
            var key = _keys[i];
            var rel = key.AsSpan(prefixLength);
            var lastDot = rel.LastIndexOf('.');
            var parent = lastDot < 0 ? ReadOnlySpan<char>.Empty : rel[..lastDot];
            var leaf = rel[(lastDot + 1)..];

            // How many of the open objects are ancestors of this key; close the others.
            var common = 0;
            var rest = parent;
            while (common < stack.Count && !rest.IsEmpty)
            {
                var dot = rest.IndexOf('.');
                var segment = dot < 0 ? rest : rest[..dot];
                if (!segment.SequenceEqual(stack[common]))
                {
                    break;
                }

                common++;
                rest = dot < 0 ? ReadOnlySpan<char>.Empty : rest[(dot + 1)..];
            }

            while (stack.Count > common)
            {
                Close();
                stack.RemoveAt(stack.Count - 1);
            }

            // Open the missing objects; a name already used at its level (a leaf, or an object closed before) blocks.
            var blocked = false;
            while (!rest.IsEmpty)
            {
                var dot = rest.IndexOf('.');
                var segment = dot < 0 ? rest : rest[..dot];
                rest = dot < 0 ? ReadOnlySpan<char>.Empty : rest[(dot + 1)..];
                if (LevelHas(segment))
                {
                    blocked = true;
                    break;
                }

                var name = segment.ToString();
                Open(name);
                stack.Add(name);
            }

            if (blocked || LevelHas(leaf))
            {
                _dropped?.Add(key);
                continue;
            }

            var leafName = leaf.ToString();
            Typed(leafName);
            _writer.WritePropertyName(JsonStrings.Clean(leafName));
            WriteValue(_evidence[key]);
        }

        while (stack.Count > 0)
        {
            Close();
            stack.RemoveAt(stack.Count - 1);
        }
    }

    private void WriteValue(object value)
    {
        var w = _writer;
        switch (value)
        {
            case string s:
                w.WriteStringValue(JsonStrings.Clean(s));
                break;
            case long l:
                w.WriteNumberValue(l);
                break;
            case int i:
                w.WriteNumberValue(i);
                break;
            case short sh:
                w.WriteNumberValue(sh);
                break;
            case byte b:
                w.WriteNumberValue(b);
                break;
            case uint ui:
                w.WriteNumberValue(ui);
                break;
            case ushort us:
                w.WriteNumberValue(us);
                break;
            case sbyte sb:
                w.WriteNumberValue(sb);
                break;
            case bool bo:
                w.WriteBooleanValue(bo);
                break;
            case double d:
                w.WriteNumberValue(d);
                break;
            case float f:
                w.WriteNumberValue((double)f);
                break;
            case IEnumerable list:
                w.WriteStartArray();
                foreach (var item in list)
                {
                    WriteValue(item);
                }

                w.WriteEndArray();
                break;
            default:
                throw new InvalidOperationException("unexpected evidence value " + value.GetType());
        }
    }

    private void Endpoint(string section, string? ip, int? port, string? mac)
    {
        if (ip is not null || port is not null || mac is not null || HasEvidenceIn(section))
        {
            Open(section);
            Str("ip", ip);
            Num("port", port);
            Str("mac", mac);
            EvidenceIn(section);
            Close();
        }
    }

    private void Open(string name)
    {
        Typed(name);
        _writer.WritePropertyName(JsonStrings.Clean(name));
        _writer.WriteStartObject();
        BeginLevel();
    }

    private void Close()
    {
        EndLevel();
        _writer.WriteEndObject();
    }

    private void BeginLevel() => _levels.Push(_names.Count);

    private void EndLevel() => _names.RemoveRange(_levels.Peek(), _names.Count - _levels.Pop());

    private void Typed(string name) => _names.Add(name);

    private bool LevelHas(ReadOnlySpan<char> name)
    {
        for (var i = _levels.Peek(); i < _names.Count; i++)
        {
            if (name.SequenceEqual(_names[i]))
            {
                return true;
            }
        }

        return false;
    }

    private void Str(string name, string? value)
    {
        if (value is not null)
        {
            Typed(name);
            _writer.WriteString(name, JsonStrings.Clean(value));
        }
    }

    private void Num(string name, long? value)
    {
        if (value is { } v)
        {
            Typed(name);
            _writer.WriteNumber(name, v);
        }
    }

    private void One(string name, string? value)
    {
        if (value is not null)
        {
            Typed(name);
            _writer.WriteStartArray(name);
            _writer.WriteStringValue(JsonStrings.Clean(value));
            _writer.WriteEndArray();
        }
    }

    private void List(string name, IReadOnlyList<string> values)
    {
        if (values.Count == 0)
        {
            return;
        }

        Typed(name);
        _writer.WriteStartArray(name);
        foreach (var v in values)
        {
            _writer.WriteStringValue(JsonStrings.Clean(v));
        }

        _writer.WriteEndArray();
    }
}
