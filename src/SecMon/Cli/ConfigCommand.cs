using System.CommandLine;
using System.Text.Json;
using SecMon.Core.Configuration;
using SecMon.Hosting.Configuration;

namespace SecMon.Cli;

/// <summary><c>secmon config check FILE</c>: validates a configuration file without connecting anywhere.</summary>
internal static class ConfigCommand
{
    /// <summary>Builds the <c>config</c> command group.</summary>
    public static Command Create()
    {
        var command = new Command("config", "Check SecMon's configuration file (the one --config FILE reads), or print an example to start from.");
        command.Subcommands.Add(Check());
        command.Subcommands.Add(Example());
        return command;
    }

    /// <summary>The commented example configuration shipped with secmon.</summary>
    internal static string ExampleText()
    {
        using var stream = typeof(ConfigCommand).Assembly.GetManifestResourceStream("secmon.example.yml")!;
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    private static Command Example()
    {
        var command = new Command("example",
            "Print a commented configuration with every section (the sensor, the data directory, the store, Elasticsearch,\n" +
            "webhooks, MQTT alerts, the findings log) to start from.\n" +
            "Example:\n" +
            "  secmon config example > /etc/secmon/secmon.yml && secmon config check /etc/secmon/secmon.yml");
        command.SetAction(parse =>
        {
            parse.InvocationConfiguration.Output.Write(ExampleText());
            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command Check()
    {
        var file = new Argument<string>("FILE") { Description = "The YAML configuration file; - reads it from standard input." };
        var json = new Option<bool>("--json") { Description = "One JSON object per problem on stdout: file, line, column, key, message, severity." };
        var command = new Command("check",
            "Read FILE as analyze, capture and serve would (environment overrides and ${NAME} secrets included) and list every\n" +
            "problem with its location (file:line:column: key: what is wrong), without connecting to any output.\n" +
            "Exit codes: 0 valid (warnings may be listed), 78 errors, 65 longer than 4 MiB, 66 the file cannot be read, 77 it may not be.\n" +
            "Examples:\n" +
            "  secmon config check /etc/secmon/secmon.yml\n" +
            "  envsubst < secmon.yml.template | secmon config check -\n" +
            "  SECMON_ES_API_KEY=... secmon config check secmon.yml --json | jq -r .message")
        {
            file, json,
        };
        command.SetAction(parse =>
        {
            var output = parse.InvocationConfiguration.Output;
            var error = parse.InvocationConfiguration.Error;
            var path = parse.GetValue(file)!;
            var shown = path == "-" ? SecMonConfig.StandardInput : path;
            var errors = new ConfigErrors();
            var config = path == "-"
                ? SecMonConfig.LoadStandardInput(Console.In, null, errors, out var exit)
                : SecMonConfig.Load(path, null, errors, out exit);
            if (parse.GetValue(json))
            {
                foreach (var item in errors.Items)
                {
                    using var buffer = new MemoryStream();
                    using (var writer = new Utf8JsonWriter(buffer))
                    {
                        writer.WriteStartObject();
                        writer.WriteString("file", item.Location.Source);
                        writer.WriteNumber("line", item.Location.Line);
                        writer.WriteNumber("column", item.Location.Column);
                        writer.WriteString("key", item.Path);
                        writer.WriteString("message", item.Message);
                        writer.WriteString("severity", item.IsWarning ? "warning" : "error");
                        writer.WriteEndObject();
                    }

                    output.WriteLine(System.Text.Encoding.UTF8.GetString(buffer.ToArray()));
                }
            }
            else
            {
                ConfigOption.Report(errors, output);
            }

            if (config is null)
            {
                error.WriteLine("secmon: " + (exit == ExitCodes.Config
                    ? $"{shown}: {errors.ErrorCount} error(s), {errors.Items.Count - errors.ErrorCount} warning(s)"
                    : $"{shown}: cannot be checked"));
                return exit;
            }

            var outputs = config.Outputs.Count == 0 ? "the embedded store only" : "sqlite, " + string.Join(", ", config.Outputs.Select(o => o.Name));
            var capture = config.Watch is { } watch ? $"; capture watches {watch.Directory}"
                : config.CaptureInterfaces.Count > 0 ? "; capture on " + string.Join(", ", config.CaptureInterfaces.Select(i => i.Describe()))
                : "";
            error.WriteLine($"secmon: {shown}: valid ({errors.Items.Count} warning(s)); data {config.DataDirectory}; findings go to {outputs}; " +
                $"search reads {config.Store}{capture}; memory budget {config.Capture.MemoryBudgetBytes >> 20} MiB ({config.Capture.MaxFlows} flows)");
            return ExitCodes.Ok;
        });
        return command;
    }
}
