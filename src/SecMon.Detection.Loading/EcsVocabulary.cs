namespace SecMon.Detection.Loading;

/// <summary>
/// ECS allowed values for <c>event.category</c> and, per category, the expected <c>event.type</c> values
/// (ECS 8.x, ecs_flat.yml "allowed_values"), so rules categorise findings the way Kibana expects.
/// </summary>
internal static class EcsVocabulary
{
    /// <summary>Each allowed category with its expected types.</summary>
    public static IReadOnlyDictionary<string, string[]> Categories { get; } = new Dictionary<string, string[]>(StringComparer.Ordinal)
    {
        ["api"] = ["access", "admin", "allowed", "change", "creation", "deletion", "denied", "end", "info", "start", "user"],
        ["authentication"] = ["start", "end", "info"],
        ["configuration"] = ["access", "change", "creation", "deletion", "info"],
        ["database"] = ["access", "change", "info", "error"],
        ["driver"] = ["change", "end", "info", "start"],
        ["email"] = ["info"],
        ["file"] = ["access", "change", "creation", "deletion", "info"],
        ["host"] = ["access", "change", "end", "info", "start"],
        ["iam"] = ["admin", "change", "creation", "deletion", "group", "info", "user"],
        ["intrusion_detection"] = ["allowed", "denied", "info"],
        ["library"] = ["start"],
        ["malware"] = ["info"],
        ["network"] = ["access", "allowed", "connection", "denied", "end", "info", "protocol", "start"],
        ["package"] = ["access", "change", "deletion", "info", "installation", "start"],
        ["process"] = ["access", "change", "end", "info", "start"],
        ["registry"] = ["access", "change", "creation", "deletion"],
        ["session"] = ["start", "end", "info"],
        ["threat"] = ["indicator"],
        ["vulnerability"] = ["info"],
        ["web"] = ["access", "error", "info"],
    };

    /// <summary>Every allowed <c>event.type</c> value.</summary>
    public static IReadOnlySet<string> Types { get; } = new HashSet<string>(StringComparer.Ordinal)
    {
        "access", "admin", "allowed", "change", "connection", "creation", "deletion", "denied", "device", "end",
        "error", "group", "indicator", "info", "installation", "protocol", "start", "user",
    };
}
