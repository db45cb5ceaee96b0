using SecMon.Core.Findings;
using SecMon.Findings.Summary;

namespace SecMon.Findings.Tests.Summary;

public sealed class FindingsSummaryTableTests
{
    [Fact]
    public void Summarize_GroupsByRule_MostSevereFirst()
    {
        var rows = FindingsSummaryTable.Summarize(TestFindings.Many(20, devices: 3));

        Assert.Equal(["SECMON-MQTT-0003", "SECMON-MQTT-0002", "SECMON-MQTT-0001", "SECMON-MQTT-0006"], rows.Select(r => r.RuleId));
        Assert.All(rows, r => Assert.Equal(5, r.Count));
        Assert.All(rows, r => Assert.Equal(3, r.Devices));
        Assert.Equal((int)Severity.Critical, rows[0].Severity);
    }

    [Fact]
    public void Write_Rows_AlignedTableWithTotal()
    {
        var output = new StringWriter();

        FindingsSummaryTable.Write(output, [TestFindings.Full(), TestFindings.Full() with { Id = "x", DeviceId = "other" }, TestFindings.Minimal()]);

        var lines = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(4, lines.Length);
        Assert.Equal("RULE              NAME                    SEVERITY  COUNT  DEVICES", lines[0]);
        Assert.Equal("SECMON-MQTT-0002  MQTT password guessing  high          2        2", lines[1]);
        Assert.Equal("SECMON-MQTT-0006  MQTT cleartext session  low           1        0", lines[2]);
        Assert.Equal("3 findings from 2 rules.", lines[3]);
    }

    [Fact]
    public void Write_NoFindings_SaysSo()
    {
        var output = new StringWriter();

        FindingsSummaryTable.Write(output, Array.Empty<Finding>());

        Assert.Equal("No findings." + Environment.NewLine, output.ToString());
    }

    [Fact]
    public void TextTable_HostileCell_CannotDriveTheTerminal()
    {
        var table = new TextTable(new TextColumn("A"), new TextColumn("B", MaxWidth: 5));
        table.Add("evil\u001b]0;pwned\u0007\u202Etxt", "abcdefgh");
        var output = new StringWriter();

        table.Write(output);

        var text = output.ToString();
        Assert.DoesNotContain('\u001b', text);
        Assert.DoesNotContain('\u0007', text);
        Assert.DoesNotContain('\u202E', text);
        Assert.Contains("evil?]0;pwned??txt", text, StringComparison.Ordinal);
        Assert.Contains("abcd…", text, StringComparison.Ordinal);
    }
}
