using System.Text;
using SecMon.Core.Events;
using SecMon.Detection.Conditions;

namespace SecMon.Detection.Engine;

/// <summary>
/// The values of a rule's <c>by</c> fields for one event (up to four), compared without allocating: text by
/// ordinal, numbers and booleans by value, a missing value equal only to another missing one. The event's outer VLAN
/// is always part of the key, as it is of a flow's: the same addresses on two VLANs are two networks (identical
/// machine cells with the same addresses, one VLAN each), and one's guessing must not hide in the other's group.
/// </summary>
internal readonly struct GroupKey : IEquatable<GroupKey>
{
    private readonly Part _a;
    private readonly Part _b;
    private readonly Part _c;
    private readonly Part _d;
    private readonly int _count;
    private readonly int _vlan;

    private GroupKey(Part a, Part b, Part c, Part d, int count, int vlan)
    {
        _vlan = vlan;
        _a = a;
        _b = b;
        _c = c;
        _d = d;
        _count = count;
    }

    private readonly record struct Part(bool Present, long Number, string? Text)
    {
        public static Part Of(in FieldValue v) => v.IsMissing ? default : new Part(true, v.Number, v.Text);

        public bool Same(in Part o) => Present == o.Present && Number == o.Number && string.Equals(Text, o.Text, StringComparison.Ordinal);

        public int Hash() => HashCode.Combine(Present, Number, Text is null ? 0 : StringComparer.Ordinal.GetHashCode(Text));

        public override string ToString() => !Present ? "(none)" : Text ?? Number.ToString(System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>Reads the key of <paramref name="e"/>.</summary>
    public static GroupKey Read(ValueReader[] readers, ProtocolEvent e, FieldValue[]? session)
    {
        Part a = default, b = default, c = default, d = default;
        if (readers.Length > 0)
        {
            a = Part.Of(readers[0].Read(e, session));
        }

        if (readers.Length > 1)
        {
            b = Part.Of(readers[1].Read(e, session));
        }

        if (readers.Length > 2)
        {
            c = Part.Of(readers[2].Read(e, session));
        }

        if (readers.Length > 3)
        {
            d = Part.Of(readers[3].Read(e, session));
        }

        return new GroupKey(a, b, c, d, readers.Length, e.Flow.VlanId ?? 0);
    }

    public bool Equals(GroupKey other) =>
        _count == other._count && _vlan == other._vlan && _a.Same(other._a) && _b.Same(other._b) && _c.Same(other._c) && _d.Same(other._d);

    public override bool Equals(object? obj) => obj is GroupKey k && Equals(k);

    public override int GetHashCode() => HashCode.Combine(_a.Hash(), _b.Hash(), _c.Hash(), _d.Hash(), _count, _vlan);

    /// <summary><c>source.ip=192.0.2.10, mqtt.username=alice</c> for evidence.</summary>
    public string Describe(IReadOnlyList<string> names)
    {
        var sb = new StringBuilder();
        Part[] parts = [_a, _b, _c, _d];
        for (var i = 0; i < _count && i < names.Count; i++)
        {
            if (i > 0)
            {
                sb.Append(", ");
            }

            sb.Append(names[i]).Append('=').Append(parts[i].ToString());
        }

        return sb.ToString();
    }

    public static bool operator ==(GroupKey left, GroupKey right) => left.Equals(right);

    public static bool operator !=(GroupKey left, GroupKey right) => !left.Equals(right);
}
