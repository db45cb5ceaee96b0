using System.Globalization;

namespace SecMon.Capture.Decoding;

/// <summary>A 48-bit MAC address as a plain value (the six bytes big-endian in the low bits of <see cref="Value"/>).</summary>
internal readonly record struct MacAddress(ulong Value)
{
    /// <summary>Reads a MAC from the first 6 bytes of <paramref name="bytes"/> (caller checks the length).</summary>
    public static MacAddress Read(ReadOnlySpan<byte> bytes) =>
        new(((ulong)bytes[0] << 40) | ((ulong)bytes[1] << 32) | ((ulong)bytes[2] << 24) |
            ((ulong)bytes[3] << 16) | ((ulong)bytes[4] << 8) | bytes[5]);

    /// <summary>ECS form, upper-case hex separated by hyphens: <c>00-1A-2B-3C-4D-5E</c>. Allocates: once per flow.</summary>
    public override string ToString() => string.Create(17, Value, static (span, v) =>
    {
        for (var i = 0; i < 6; i++)
        {
            var b = (byte)(v >> (40 - (8 * i)));
            b.TryFormat(span[(i * 3)..], out _, "X2", CultureInfo.InvariantCulture);
            if (i < 5)
            {
                span[(i * 3) + 2] = '-';
            }
        }
    });
}
