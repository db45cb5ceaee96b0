using System.Text.Json;
using SecMon.Cli;
using SecMon.Testing;

namespace SecMon.Tests.Cli;

public sealed class InterfacesCommandTests
{
    [Fact]
    public async Task Interfaces_Json_EveryInterfaceIpKnowsWithItsAddresses()
    {
        var (code, stdout, stderr) = await SecMonRun.Run("interfaces", "--json");

        Assert.Equal(ExitCodes.Ok, code);
        Assert.Equal("", stderr);
        var listed = SecMonRun.Lines(stdout).Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToList();
        var lo = Assert.Single(listed, i => i.GetProperty("name").GetString() == "lo");
        Assert.True(lo.GetProperty("loopback").GetBoolean());
        Assert.True(lo.GetProperty("up").GetBoolean());
        Assert.Contains("127.0.0.1/8", lo.GetProperty("addresses").EnumerateArray().Select(a => a.GetString()));

        // iproute2 as the independent witness: every interface it lists (with its IPv4 addresses) is listed here.
        var ip = await Tools.RunAsync("ip", ["-o", "-4", "addr", "show"]);
        Assert.Equal(0, ip.ExitCode);
        foreach (var line in ip.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries); // "1: lo    inet 127.0.0.1/8 scope host lo ..."
            var name = parts[1];
            var address = parts[Array.IndexOf(parts, "inet") + 1];
            var mine = Assert.Single(listed, i => i.GetProperty("name").GetString() == name);
            Assert.Contains(address, mine.GetProperty("addresses").EnumerateArray().Select(a => a.GetString()));
        }
    }

    [Fact]
    public async Task Interfaces_Table_NamesLoopbackAndSaysHowToCapture()
    {
        var (code, stdout, _) = await SecMonRun.Run("interfaces");

        Assert.Equal(ExitCodes.Ok, code);
        var lines = SecMonRun.Lines(stdout);
        Assert.StartsWith("NAME", lines[0], StringComparison.Ordinal);
        Assert.Contains(lines, l => l.StartsWith("lo ", StringComparison.Ordinal) && l.Contains("loopback", StringComparison.Ordinal));
        Assert.Matches(@"^\d+ interfaces?\. Capture on one with: sudo secmon capture -i NAME$", lines[^1]);
    }
}
