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

/// <summary>An address on a link (a VLAN, a capture interface: <see cref="DecodedPacket.Segment"/>), hashed as
/// <see cref="SeededIpComparer"/> hashes the address.</summary>
internal sealed class SeededLinkComparer : IEqualityComparer<(IpAddress Address, ulong Link)>
{
    /// <summary>The one instance.</summary>
    public static readonly SeededLinkComparer Instance = new();

    /// <inheritdoc />
    public bool Equals((IpAddress Address, ulong Link) x, (IpAddress Address, ulong Link) y) => x.Address == y.Address && x.Link == y.Link;

    /// <inheritdoc />
    public int GetHashCode((IpAddress Address, ulong Link) obj) => HashCode.Combine(SeededIpComparer.Instance.GetHashCode(obj.Address), obj.Link);
}
