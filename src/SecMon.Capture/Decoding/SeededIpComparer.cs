namespace SecMon.Capture.Decoding;

/// <summary>Addresses hashed with a per-process seed (<see cref="HashCode"/>): a sender's address is the sender's to
/// choose, so keys that collide in a table must not be precomputable (the default hash of <see cref="IpAddress"/> is
/// not seeded).</summary>
internal sealed class SeededIpComparer : IEqualityComparer<IpAddress>
{
    /// <summary>The one instance.</summary>
    public static readonly SeededIpComparer Instance = new();

    /// <inheritdoc />
    public bool Equals(IpAddress x, IpAddress y) => x == y;

    /// <inheritdoc />
    public int GetHashCode(IpAddress obj) => HashCode.Combine(obj.High, obj.Low, obj.IsV6);
}
