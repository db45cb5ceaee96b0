using System.CommandLine;
using System.Text.Json;
using SecMon.Capture.Sources;
using SecMon.Findings.Summary;

namespace SecMon.Cli;

/// <summary><c>secmon interfaces</c>: what <c>secmon capture -i</c> and <c>secmon serve -i</c> can capture on.</summary>
internal static class InterfacesCommand
{
    /// <summary>Builds the <c>interfaces</c> command.</summary>
    public static Command Create()
    {
        var json = FindingsCommand.JsonOption("each interface (name, description, addresses with prefix length, mac, loopback, up, running)");
        var command = new Command("interfaces",
            "List the network interfaces libpcap can capture on, with their addresses and state: the names 'secmon capture -i'\n" +
            "and 'secmon serve -i' take. Listing needs no privilege; capturing needs root or CAP_NET_RAW. 'any' captures on\n" +
            "every interface at once (Linux cooked capture: no Ethernet addresses, so devices are known by IP only).\n" +
            "Examples:\n" +
            "  secmon interfaces\n" +
            "  secmon interfaces --json | jq -r 'select(.running and (.loopback | not)) | .name'");
        command.Options.Add(json);
        command.SetAction(result =>
        {
            var output = result.InvocationConfiguration.Output;
            var error = result.InvocationConfiguration.Error;
            var interfaces = CaptureInterfaces.TryList(out var problem);
            if (interfaces is null)
            {
                return FindingsCommand.Fail(error, ExitCodes.NoInput, problem!);
            }

            if (result.GetValue(json))
            {
                foreach (var i in interfaces)
                {
                    output.WriteLine(JsonSerializer.Serialize(new
                    {
                        name = i.Name,
                        description = i.Description,
                        addresses = i.Addresses,
                        mac = i.Mac,
                        loopback = i.Loopback,
                        up = i.Up,
                        running = i.Running,
                    }));
                }

                return ExitCodes.Ok;
            }

            var table = new TextTable(new TextColumn("NAME"), new TextColumn("STATE"), new TextColumn("MAC"),
                new TextColumn("ADDRESSES", MaxWidth: 60), new TextColumn("DESCRIPTION", MaxWidth: 50));
            foreach (var i in interfaces)
            {
                var state = (i.Up ? "up" : "down") + (i.Running ? ", running" : "") + (i.Loopback ? ", loopback" : "");
                table.Add(i.Name, state, i.Mac, string.Join(", ", i.Addresses), i.Description);
            }

            table.Write(output);
            output.WriteLine($"{interfaces.Count} interface{(interfaces.Count == 1 ? "" : "s")}. Capture on one with: sudo secmon capture -i NAME");
            return ExitCodes.Ok;
        });
        return command;
    }
}
