namespace SecMon.Core.Findings;

/// <summary>
/// MITRE ATT&amp;CK as ECS <c>threat.*</c> names it. ATT&amp;CK for ICS (technique ids T0800-T0899, tactic ids TA01xx)
/// and ATT&amp;CK Enterprise (T1xxx, sub-techniques T1110.001, tactics TA00xx) are two frameworks with their own
/// tactics: Lateral Movement is TA0109 in ICS and TA0008 in Enterprise (https://attack.mitre.org/tactics/ics/,
/// https://attack.mitre.org/tactics/enterprise/).
/// </summary>
public static class MitreAttack
{
    /// <summary>ECS <c>threat.framework</c> of ATT&amp;CK for ICS.</summary>
    public const string Ics = "MITRE ATT&CK for ICS";

    /// <summary>ECS <c>threat.framework</c> of ATT&amp;CK Enterprise.</summary>
    public const string Enterprise = "MITRE ATT&CK";

    private static readonly Dictionary<string, string> IcsTactics = new(StringComparer.OrdinalIgnoreCase)
    {
        ["Initial Access"] = "TA0108",
        ["Execution"] = "TA0104",
        ["Persistence"] = "TA0110",
        ["Privilege Escalation"] = "TA0111",
        ["Evasion"] = "TA0103",
        ["Discovery"] = "TA0102",
        ["Lateral Movement"] = "TA0109",
        ["Collection"] = "TA0100",
        ["Command and Control"] = "TA0101",
        ["Inhibit Response Function"] = "TA0107",
        ["Impair Process Control"] = "TA0106",
        ["Impact"] = "TA0105",
    };

    private static readonly Dictionary<string, string> EnterpriseTactics = new(StringComparer.OrdinalIgnoreCase)
    {
        ["Reconnaissance"] = "TA0043",
        ["Resource Development"] = "TA0042",
        ["Initial Access"] = "TA0001",
        ["Execution"] = "TA0002",
        ["Persistence"] = "TA0003",
        ["Privilege Escalation"] = "TA0004",
        ["Defense Evasion"] = "TA0005",
        ["Credential Access"] = "TA0006",
        ["Discovery"] = "TA0007",
        ["Lateral Movement"] = "TA0008",
        ["Collection"] = "TA0009",
        ["Command and Control"] = "TA0011",
        ["Exfiltration"] = "TA0010",
        ["Impact"] = "TA0040",
    };

    /// <summary>The framework a technique id belongs to: ICS for T0800-T0899, Enterprise otherwise.</summary>
    public static string FrameworkOf(string techniqueId)
    {
        ArgumentNullException.ThrowIfNull(techniqueId);
        return techniqueId.Length >= 3 && techniqueId[0] == 'T' && techniqueId[1] == '0' && techniqueId[2] == '8' ? Ics : Enterprise;
    }

    /// <summary>The tactics of <paramref name="framework"/> by name, with their ids.</summary>
    public static IReadOnlyDictionary<string, string> Tactics(string framework) => framework == Ics ? IcsTactics : EnterpriseTactics;

    /// <summary>The id of the tactic named <paramref name="tacticName"/> in <paramref name="framework"/>; null when unknown.</summary>
    public static string? TacticId(string framework, string tacticName) =>
        Tactics(framework).TryGetValue(tacticName, out var id) ? id : null;

    /// <summary>The ATT&amp;CK page of a technique or sub-technique (T1110.001 → .../techniques/T1110/001/).</summary>
    public static string TechniqueReference(string techniqueId)
    {
        ArgumentNullException.ThrowIfNull(techniqueId);
        return "https://attack.mitre.org/techniques/" + techniqueId.Replace('.', '/') + "/";
    }

    /// <summary>The ATT&amp;CK page of a tactic.</summary>
    public static string TacticReference(string tacticId)
    {
        ArgumentNullException.ThrowIfNull(tacticId);
        return "https://attack.mitre.org/tactics/" + tacticId + "/";
    }
}
