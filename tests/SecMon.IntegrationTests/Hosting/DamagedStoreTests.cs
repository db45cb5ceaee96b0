using Microsoft.Data.Sqlite;
using SecMon.IntegrationTests.Capture;
using SecMon.IntegrationTests.TestSupport;
using SecMon.Testing;

namespace SecMon.IntegrationTests.Hosting;

/// <summary>
/// <c>secmon analyze</c> against a store that breaks while the run uses it (a damaged interior page of one table, a
/// database the user cannot write): the documented exit code (73: an output could not be written), one line naming
/// the database and what to do, the run summary kept, never a stack trace; what the run found still reaches the other
/// outputs (here, the findings on stdout with --json).
/// </summary>
public sealed class DamagedStoreTests
{
    private const int CantCreate = 73;

    [Theory]
    [InlineData("findings")]
    [InlineData("devices")]
    [InlineData("baseline_model")]
    public async Task Analyze_StoreWithADamagedTablePage_Exits73WithOneLineAndKeepsTheSummaryAndTheFindings(string table)
    {
        using var dir = new TempDirectory();
        var data = dir.File("data");
        var first = await Analyze(data);
        Assert.True(first.Exit == 0, first.StdErr);
        DamageRootPage(Path.Combine(data, "secmon.db"), table);

        var (exit, stdout, stderr) = await Analyze(data);

        Assert.True(exit == CantCreate, $"exit {exit}:\n{stderr}");
        Assert.DoesNotContain("   at ", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", stderr, StringComparison.Ordinal);
        Assert.Contains(stderr.Split('\n'), l => l.StartsWith("secmon: ", StringComparison.Ordinal) && l.Contains("secmon.db' is damaged", StringComparison.Ordinal)
            && l.Contains("move it aside", StringComparison.Ordinal));
        Assert.Contains("packets", stderr, StringComparison.Ordinal); // the run summary
        Assert.Contains("SECMON-MQTT-", stdout, StringComparison.Ordinal); // the findings, printed although the store failed
    }

    // Root runs secmon as nobody (root itself writes any file).
    [RequiresRootFact("setpriv")]
    public async Task Analyze_ReadOnlyDatabaseInAWritableDirectory_Exits73NamingTheFile()
    {
        using var dir = new TempDirectory();
        var data = dir.File("data");
        Assert.Equal(0, (await Analyze(data)).Exit);
        // The directory (and the key) belong to the user who runs secmon; the database stays root's, mode 644.
        await Tools.RunAsync("chmod", ["o+rx", dir.Path], TimeSpan.FromSeconds(10));
        await Tools.RunAsync("chown", ["65534:65534", data, Path.Combine(data, "secret-hash.key")], TimeSpan.FromSeconds(10));

        var (exit, stdout, stderr) = await Tools.RunAsync("setpriv",
            ["--reuid=65534", "--regid=65534", "--clear-groups", "env", "HOME=/tmp", "DOTNET_CLI_HOME=/tmp", "dotnet",
             .. SecMonRunner.Command("analyze", Sample, "--json", "--data", data)], TimeSpan.FromMinutes(2));

        Assert.True(exit == CantCreate, $"exit {exit}:\n{stderr}");
        Assert.DoesNotContain("   at ", stderr, StringComparison.Ordinal);
        Assert.Contains(stderr.Split('\n'), l => l.Contains("secmon.db", StringComparison.Ordinal) && l.Contains("readonly", StringComparison.Ordinal));
        Assert.Contains("SECMON-MQTT-", stdout, StringComparison.Ordinal);
    }

    private static string Sample => SampleCaptures.PathOf("mqtt-wildcard.pcap");

    private static Task<(int Exit, string StdOut, string StdErr)> Analyze(string data) =>
        Tools.RunAsync("dotnet", SecMonRunner.Command("analyze", Sample, "--json", "--learning", "0s", "--data", data), TimeSpan.FromMinutes(2));

    // Overwrites the root page of one table with garbage: the file still opens (header and schema intact), and the
    // first statement that reads or writes that table finds it malformed (SQLITE_CORRUPT).
    private static void DamageRootPage(string db, string table)
    {
        long page, pageSize;
        using (var connection = new SqliteConnection($"Data Source={db};Pooling=False"))
        {
            connection.Open();
            using var cmd = connection.CreateCommand();
            cmd.CommandText = $"SELECT rootpage FROM sqlite_master WHERE type = 'table' AND name = '{table}'";
            page = Convert.ToInt64(cmd.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
            cmd.CommandText = "PRAGMA page_size";
            pageSize = Convert.ToInt64(cmd.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
        }

        Assert.True(page > 1, $"no table {table}");
        using var file = new FileStream(db, FileMode.Open, FileAccess.Write);
        file.Position = (page - 1) * pageSize;
        var garbage = new byte[pageSize];
        Array.Fill(garbage, (byte)0xDE);
        file.Write(garbage);
    }
}
