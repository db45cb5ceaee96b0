namespace SecMon.Core.Findings;

/// <summary>Finding severity. The numeric values are ECS <c>event.severity</c> and follow Elastic's risk-score
/// bands (21/47/73/99), so Kibana's security views sort SecMon alerts with their own.</summary>
public enum Severity
{
    /// <summary>Informational: posture worth knowing (a device using cleartext).</summary>
    Low = 21,
    /// <summary>Weakness that an attacker can use (anonymous access, wildcard snooping).</summary>
    Medium = 47,
    /// <summary>Likely attack or exposure of secrets (password guessing, credentials in cleartext).</summary>
    High = 73,
    /// <summary>Successful attack (guessing followed by a successful login).</summary>
    Critical = 99,
}
