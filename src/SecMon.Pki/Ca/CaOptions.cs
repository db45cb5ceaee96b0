namespace SecMon.Pki.Ca;

/// <summary>Where the CA lives and how its keys are unlocked.</summary>
public sealed record CaOptions
{
    /// <summary>Environment variable holding the CA passphrase.</summary>
    public const string PassphraseVariable = "SECMON_CA_PASSPHRASE";

    /// <summary>The CA home (keys, certificates, ca.json). Default <c>certs</c>.</summary>
    public string CaHome { get; init; } = "certs";

    /// <summary>The data directory holding <c>pki.db</c>. Default <c>data</c>.</summary>
    public string DataDirectory { get; init; } = "data";

    /// <summary>The passphrase that decrypts the CA keys; null when none was given (read-only commands).</summary>
    public string? Passphrase { get; init; }

    /// <summary>
    /// A shell command run after every CRL change (<c>--on-crl-change</c>), e.g. <c>kill -HUP $(pidof mosquitto)</c>;
    /// null for none. See <see cref="Revocation.CrlChangeHook"/>.
    /// </summary>
    public string? OnCrlChange { get; init; }

    /// <summary>
    /// Reads the passphrase from <paramref name="passphraseFile"/> (first line) when given, else from
    /// <see cref="PassphraseVariable"/>; null when neither is set. Never from the command line, where
    /// other users could read it in the process list.
    /// </summary>
    /// <exception cref="PkiException">The file cannot be read or is empty.</exception>
    public static string? ReadPassphrase(string? passphraseFile)
    {
        if (passphraseFile is not null)
        {
            string text;
            try
            {
                text = File.ReadAllText(passphraseFile);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new PkiException($"{passphraseFile}: cannot read the passphrase file ({e.Message}).", e);
            }

            var line = text.Split('\n')[0].TrimEnd('\r');
            if (line.Length == 0)
            {
                throw new PkiException($"{passphraseFile}: the passphrase file is empty.");
            }

            return line;
        }

        var env = Environment.GetEnvironmentVariable(PassphraseVariable);
        return string.IsNullOrEmpty(env) ? null : env;
    }
}
