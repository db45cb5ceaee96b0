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

    /// <summary><c>--on-crl-change CMD</c>, shared by <c>serve</c>, <c>ca revoke</c> and <c>ca crl</c>.</summary>
    public static Option<string?> OnCrlChange() => new("--on-crl-change")
    {
        Description = "After every new CRL (written atomically to CA_HOME/crl.pem and crl.der), run CMD with /bin/sh -c, with " +
            "$SECMON_CRL_FILE = the absolute path of crl.pem (point mosquitto's crlfile at it), $SECMON_CRL_DER_FILE and $SECMON_CRL_NUMBER; " +
            "e.g. 'kill -HUP $(pidof mosquitto)'. A failing hook is reported (exit code, last stderr line); it never undoes a revocation " +
            "(`ca revoke` exits 75; running it again runs the hook again).",
        HelpName = "CMD",
    };

    /// <summary>
    /// Runs the CRL hook after the CLI changed the CRL; reports its outcome on stderr. Returns <see cref="ExitCodes.Ok"/>,
    /// or <see cref="ExitCodes.TempFail"/> when it failed (the revocation and the CRL stand; the broker may not have reloaded).
    /// </summary>
    public static int RunCrlHook(string? command, CertificateAuthority ca, long crlNumber)
    {
        ArgumentNullException.ThrowIfNull(ca);
        if (string.IsNullOrEmpty(command))
        {
            return ExitCodes.Ok;
        }

        var result = SecMon.Pki.Revocation.CrlChangeHook.RunAsync(command, ca.Paths, crlNumber, CancellationToken.None).GetAwaiter().GetResult();
        if (result.Ok)
        {
            Console.Error.WriteLine($"on-crl-change: ran (exit 0) for CRL {crlNumber}");
            return ExitCodes.Ok;
        }

        Console.Error.WriteLine($"secmon: on-crl-change hook failed ({result.Describe()}); the CRL change stands ({Path.GetFullPath(ca.Paths.CrlPem)}): " +
            "reload the broker by hand, or run this command again to retry the hook.");
        return ExitCodes.TempFail;
    }

    /// <summary>SHA-256 fingerprint of a certificate as <c>openssl x509 -fingerprint -sha256</c> prints it (AB:CD:...),
    /// which <c>secmon enroll --ca-fingerprint</c> accepts.</summary>
    public static string Fingerprint(Org.BouncyCastle.X509.X509Certificate certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        return Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(certificate.GetEncoded())).Chunk(2).Aggregate(
            new System.Text.StringBuilder(), (b, pair) => (b.Length > 0 ? b.Append(':') : b).Append(pair)).ToString();
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
