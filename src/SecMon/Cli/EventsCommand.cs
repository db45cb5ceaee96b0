using System.CommandLine;
using System.Text.Json;
using SecMon.Analysis;

namespace SecMon.Cli;

/// <summary><c>secmon events</c>: the reference of every event type and field (what rules can read).</summary>
internal static class EventsCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var json = new Option<bool>("--json") { Description = "One JSON object per event type on stdout." };
        var command = new Command("events",
            "List every protocol event type SecMon emits and its fields (dotted names, types): the names rules and\n" +
            "'analyze --events' use. Example: secmon events | grep mqtt.connack")
        {
            json,
        };
        command.SetAction(parse =>
        {
            var schemas = AnalysisSession.EventSchemas.OrderBy(s => s.Type, StringComparer.Ordinal);
            if (parse.GetValue(json))
            {
                foreach (var s in schemas)
                {
                    Console.Out.WriteLine(JsonSerializer.Serialize(new
                    {
                        type = s.Type,
                        fields = s.Fields.Select(f => new { name = f.Name, kind = f.Kind.ToString().ToLowerInvariant(), description = f.Description }),
                    }));
                }

                return ExitCodes.Ok;
            }

            foreach (var s in schemas)
            {
                Console.Out.WriteLine(s.Type);
                foreach (var f in s.Fields)
                {
                    Console.Out.WriteLine($"  {f.Name,-44} {f.Kind.ToString().ToLowerInvariant(),-11} {f.Description}");
                }
            }

            return ExitCodes.Ok;
        });
        return command;
    }
}
