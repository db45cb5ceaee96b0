using System.Text.RegularExpressions;

namespace SecMon.Pki.Profiles;

/// <summary>
/// Device ids: 1 to 64 characters of letters, digits, <c>. _ : -</c>, starting with a letter or digit. The id
/// is the certificate's CN and its SAN <c>URI:urn:secmon:device:ID</c> (plus <c>DNS:ID</c> when it is a valid
/// host name), so it excludes everything that would need escaping in a DN or a URI.
/// </summary>
public static partial class DeviceIds
{
    /// <summary>The URN prefix of device SANs.</summary>
    public const string UrnPrefix = "urn:secmon:device:";

    /// <summary>True when <paramref name="id"/> is a valid device id.</summary>
    public static bool IsValid(string? id) => id is not null && IdPattern().IsMatch(id);

    /// <summary>The device's URI SAN.</summary>
    public static string Urn(string id) => UrnPrefix + id;

    /// <summary>True when <paramref name="name"/> is a valid DNS host name (RFC 1123 §2.1 labels).</summary>
    public static bool IsHostName(string name) => name.Length <= 253 && HostPattern().IsMatch(name);

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$", RegexOptions.CultureInvariant)]
    private static partial Regex IdPattern();

    [GeneratedRegex(@"^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$", RegexOptions.CultureInvariant)]
    private static partial Regex HostPattern();
}
