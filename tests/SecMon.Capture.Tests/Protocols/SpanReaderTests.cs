using SecMon.Capture.Protocols;

namespace SecMon.Capture.Tests.Protocols;

/// <summary>The cursor every wire parser reads with: values, the reason of each refusal, and incomplete input.</summary>
public sealed class SpanReaderTests
{
    [Fact]
    public void TryRead_BigEndianIntegersAndVectors_ReadInOrder()
    {
        var r = new SpanReader(Convert.FromHexString("01 0203 040506 0708090A 02AABB 0003CCDDEE 000001FF".Replace(" ", "", StringComparison.Ordinal)));

        Assert.True(r.TryReadByte(out var b));
        Assert.True(r.TryReadUInt16BE(out var u16));
        Assert.True(r.TryReadUInt24BE(out var u24));
        Assert.True(r.TryReadUInt32BE(out var u32));
        Assert.True(r.TryReadVector8(out var v8));
        Assert.True(r.TryReadVector16(out var v16));
        Assert.True(r.TryReadVector24(out var v24));

        Assert.Equal((0x01, 0x0203, 0x040506, 0x0708090Au), (b, u16, u24, u32));
        Assert.Equal("AABB", Convert.ToHexString(v8));
        Assert.Equal("CCDDEE", Convert.ToHexString(v16));
        Assert.Equal("FF", Convert.ToHexString(v24));
        Assert.True(r.AtEnd);
        Assert.Equal(MalformedReason.None, r.Error.Reason);
    }

    [Theory]
    [InlineData("Truncated", "01", "u16")]
    [InlineData("Truncated", "0102", "u24")]
    [InlineData("Truncated", "010203", "u32")]
    [InlineData("Truncated", "03AABB", "vec8")] // the length says 3, 2 are there
    [InlineData("Truncated", "0004AABBCC", "vec16")]
    [InlineData("Truncated", "000002AA", "vec24")]
    [InlineData("Truncated", "", "byte")]
    public void TryRead_PastTheEnd_FalseWithTruncatedAndTheField(string label, string hex, string what)
    {
        var r = new SpanReader(Convert.FromHexString(hex));

        var ok = what switch
        {
            "byte" => r.TryReadByte(out _, "f"),
            "u16" => r.TryReadUInt16BE(out _, "f"),
            "u24" => r.TryReadUInt24BE(out _, "f"),
            "u32" => r.TryReadUInt32BE(out _, "f"),
            "vec8" => r.TryReadVector8(out _, "f"),
            "vec16" => r.TryReadVector16(out _, "f"),
            _ => r.TryReadVector24(out _, "f"),
        };

        Assert.False(ok, label);
        Assert.Equal(MalformedReason.Truncated, r.Error.Reason);
        Assert.Equal("f: runs past the end of the packet", r.Error.ToString());
        Assert.Equal(0, r.Needed);
    }

    [Fact]
    public void TryReadBytes_NegativeCount_TruncatedNotAnException()
    {
        var r = new SpanReader([1, 2, 3]);

        Assert.False(r.TryReadBytes(-1, out _));
        Assert.Equal(MalformedReason.Truncated, r.Error.Reason);
    }

    [Fact]
    public void TryRead_PastWhatArrivedButWithinTheDeclaredLength_IncompleteWithTheBytesNeeded()
    {
        // 3 of a 10-byte message have arrived: a vector of 5 after a 2-byte length needs 7.
        var r = new SpanReader([0x00, 0x05, 0xAA], declaredLength: 10);

        Assert.False(r.TryReadVector16(out _));

        Assert.Equal(MalformedReason.None, r.Error.Reason);
        Assert.Equal(7, r.Needed);
    }

    [Fact]
    public void TryRead_PastTheDeclaredLength_MalformedEvenWhenMoreBytesFollow()
    {
        // The bytes after the declared length belong to the next message.
        var r = new SpanReader([0x00, 0x05, 0xAA, 0xBB, 0xCC, 0xDD, 0xEE], declaredLength: 4);

        Assert.False(r.TryReadVector16(out _, "topic name"));

        Assert.Equal(MalformedReason.Truncated, r.Error.Reason);
        Assert.Equal(0, r.Needed);
    }

    [Theory]
    [InlineData("8001", 128, "None")]
    [InlineData("8000", 0, "Overlong")]
    [InlineData("FFFFFFFF01", 0, "LengthOverflow")]
    public void TryReadVarInt_Cursor_ValueOrReason(string hex, int expected, string reasonName)
    {
        var reason = Enum.Parse<MalformedReason>(reasonName);
        var r = new SpanReader(Convert.FromHexString(hex));

        var ok = r.TryReadVarInt(out var value, "length");

        Assert.Equal(reason == MalformedReason.None, ok);
        Assert.Equal(expected, value);
        Assert.Equal(reason, r.Error.Reason);
    }

    [Fact]
    public void TryReadVarInt_EndsInsideTheIntegerBeforeTheDeclaredEnd_Incomplete()
    {
        var r = new SpanReader([0x80], declaredLength: 5);

        Assert.False(r.TryReadVarInt(out _));

        Assert.Equal(MalformedReason.None, r.Error.Reason);
        Assert.Equal(2, r.Needed);
    }
}
