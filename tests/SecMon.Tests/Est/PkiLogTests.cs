using SecMon.Est;

namespace SecMon.Tests.Est;

public class PkiLogTests
{
    [Theory]
    [InlineData("unknown label \"x\"", "unknown label \"x\"")]
    [InlineData("unknown label \"x\n2026-12-05T00:00:00.000Z info: SecMon.Est[3001] EST issued\"", "unknown label \"x?2026-12-05T00:00:00.000Z info: SecMon.Est[3001] EST issued\"")]
    [InlineData("a\r\u001b[31mb\u0000", "a??[31mb?")]
    public void OneLine_ClientTextWithControlCharacters_CannotStartALogLine(string reason, string expected)
    {
        Assert.Equal(expected, PkiLog.OneLine(reason));
    }
}
