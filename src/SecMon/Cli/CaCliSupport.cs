using System.CommandLine;
using System.Text.Json;
using SecMon.Pki;
using SecMon.Pki.Ca;

namespace SecMon.Cli;

/// <summary>Options and helpers shared by the <c>ca</c>, <c>serve</c> and <c>enroll</c> commands.</summary>
internal static class CaCliSupport
{
    /// <summary>JSON for <c>--json</c> output: one compact object per line.</summary>
    public static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.CamelCase };

    /// <summary><c>--ca-home DIR</c>.</summary>
    public static Option<string> CaHome() => new("--ca-home")
    {
        Description = "The CA home: keys (encrypted, 0600), certificates, ca.json, crl.pem. Default: ./certs",
        DefaultValueFactory = _ => "certs",
    };

    /// <summary><c>--data DIR</c>.</summary>
    public static Option<string> Data() => new("--data")
    {
        Description = "The data directory holding pki.db (issued certificates, tokens, audit log). Default: ./data",
        DefaultValueFactory = _ => "data",
    };

    /// <summary><c>--passphrase-file FILE</c>.</summary>
    public static Option<string?> PassphraseFile() => new("--passphrase-file")
    {
        Description = $"File whose first line is the CA passphrase. Without it, ${CaOptions.PassphraseVariable} is used. " +
            "(Never on the command line: other users can read process arguments.)",
    };

    /// <summary>The three CA options added to a command.</summary>
    public sealed record CaOptionSet(Option<string> CaHome, Option<string> Data, Option<string?> PassphraseFile)
    {
        /// <summary>Adds them to <paramref name="command"/>.</summary>
        public void AddTo(Command command)
        {
            command.Options.Add(CaHome);
            command.Options.Add(Data);
            command.Options.Add(PassphraseFile);
        }

        /// <summary>Reads them (and the passphrase) from a parse result.</summary>
        public CaOptions Read(ParseResult parse) => new()
        {
            CaHome = parse.GetValue(CaHome)!,
            DataDirectory = parse.GetValue(Data)!,
            Passphrase = CaOptions.ReadPassphrase(parse.GetValue(PassphraseFile)),
        };
    }

    /// <summary>A fresh set of the CA options.</summary>
    public static CaOptionSet NewCaOptions() => new(CaHome(), Data(), PassphraseFile());

    /// <summary>Runs <paramref name="body"/>, turning PKI errors into one line on stderr and an exit code.</summary>
    public static int Run(Func<int> body)
    {
        try
        {
            return body();
        }
        catch (PkiException e)
        {
            Console.Error.WriteLine("secmon: " + e.Message);
            return ExitCodes.NoInput;
        }
        catch (IOException e)
        {
            Console.Error.WriteLine("secmon: " + e.Message);
            return ExitCodes.CantCreate;
        }
        catch (UnauthorizedAccessException e)
        {
            Console.Error.WriteLine("secmon: " + e.Message);
            return ExitCodes.NoPermission;
        }
    }

    /// <summary>Writes one JSON object line to stdout.</summary>
    public static void WriteJson<T>(T value) => Console.Out.WriteLine(JsonSerializer.Serialize(value, Json));
}

/// <summary>Lifetimes and windows of the CA commands: <c>90s</c>, <c>30m</c>, <c>24h</c>, <c>7d</c>, <c>2w</c>.</summary>
internal static class CaDurations
{
    /// <summary>Parses a positive duration in the one grammar (<see cref="SecMon.Core.Durations"/>).</summary>
    public static bool TryParse(string? text, out TimeSpan value)
    {
        // The one duration grammar (SecMon.Core.Durations, a unit required), with zero refused: a TTL of "0s" is a mistake.
        if (!SecMon.Core.Durations.TryParse(text, out value) || value <= TimeSpan.Zero)
        {
            value = default;
            return false;
        }

        return true;
    }
}
