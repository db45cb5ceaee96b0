using SecMon.Testing;

namespace SecMon.IntegrationTests.Capture;

/// <summary>The recorded captures in samples/ (see samples/README.md for what each one holds).</summary>
internal static class SampleCaptures
{
    /// <summary>The port of the password brokers in mqtt-password.pcap and mqtt-guessing.pcap (not 1883 on purpose).</summary>
    public const int PasswordBrokerPort = 18831;

    /// <summary>The full path of a sample, failing clearly when it is missing.</summary>
    public static string PathOf(string name)
    {
        var path = Path.Combine(RepoPaths.Samples, name);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"sample capture {path} is missing; record it with: sudo samples/record.sh", path);
        }

        return path;
    }
}
