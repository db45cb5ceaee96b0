using SecMon.Findings.Ecs;

namespace SecMon.Findings.Tests.Ecs;

public sealed class FindingJsonMessageTests
{
    [Fact]
    public void ReadMessage_DocumentsAsWritten_GivesWhatTheFullReadGives()
    {
        var findings = TestFindings.Many(40);
        findings.Add(TestFindings.Full() with { Message = "Client \"a\\b\" on ü 🛰 said \u0001 and \ud800 alone" });
        findings.Add(TestFindings.Minimal());

        foreach (var f in findings)
        {
            var json = FindingJson.Write(f);
            Assert.Equal(FindingJson.Read(json).Message, FindingJson.ReadMessage(json));
        }
    }

    [Fact]
    public void ReadMessage_TakesTheTopLevelMessageOnly()
    {
        Assert.Equal("outer", FindingJson.ReadMessage("""{"rule":{"message":"inner","list":[{"message":"x"}]},"message":"outer"}"""));
    }

    [Theory]
    [InlineData("""{"rule":{"message":"inner"}}""")]
    [InlineData("""{"message":42}""")]
    [InlineData("""["message","x"]""")]
    [InlineData("""{"message":""")]
    [InlineData("not json")]
    public void ReadMessage_NoReadableMessage_FormatException(string json)
    {
        Assert.Throws<FormatException>(() => FindingJson.ReadMessage(json));
    }
}
