using System.Diagnostics;
using System.Text.Json;
using Microsoft.Playwright;
using SecMon.IntegrationTests.TestSupport;
using SecMon.Pki.Ca;
using SecMon.Testing;
using Xunit.Abstractions;

namespace SecMon.IntegrationTests.Page;

/// <summary>
/// The analysts' page in a real browser (Debian's chromium, driven by Playwright; no browser is downloaded):
/// <c>serve -i lo</c> with a CA captures a real mosquitto client subscribing to <c>#</c>; the finding is on the page,
/// its detail shows the rule's text and ECS fields, acknowledging it changes its state through the API, the devices
/// view shows the broker's posture, and the hardening plan's button makes an enrolment token the CA knows. Screenshots
/// are kept in TestResults/screenshots.
/// </summary>
public sealed class PageInChromiumTests(ITestOutputHelper output)
{
    private const string Chromium = "/usr/bin/chromium";
    private const string Passphrase = "page test passphrase";

    private static string Screenshots
    {
        get
        {
            var dir = Path.Combine(RepoPaths.Root, "TestResults", "screenshots");
            Directory.CreateDirectory(dir);
            return dir;
        }
    }

    [RequiresRootFact("mosquitto", "mosquitto_sub", "chromium")]
    public async Task Page_LiveFinding_SearchDetailWorkflowDevicesAndToken()
    {
        await using var broker = await MosquittoBroker.StartAsync();
        using var dir = new TempDirectory("secmon-page-");
        var (caHome, data, passphraseFile, ready) = (dir.File("certs"), dir.File("data"), dir.File("passphrase"), dir.File("ready.json"));
        await File.WriteAllTextAsync(passphraseFile, Passphrase + "\n");
        CaInitializer.Init(new CaOptions { CaHome = caHome, DataDirectory = data, Passphrase = Passphrase },
            new CaInitOptions { Settings = new CaSettings { KdfIterations = 10_000 } }, TimeProvider.System);
        await using var serve = RunningProcess.Start("dotnet", SecMonRunner.Command(
            "serve", "--api", "127.0.0.1:0", "--https", "127.0.0.1:0", "--http", "127.0.0.1:0", "--ca-home", caHome, "--data", data,
            "--passphrase-file", passphraseFile, "--ready-file", ready, "-i", "lo", "--bpf", $"tcp port {broker.Port}", "--save-every", "1s"));
        Assert.True(await serve.WaitForStdErrAsync("capturing on lo", TimeSpan.FromSeconds(90)), serve.StdErr);
        Assert.True(await serve.WaitForStdErrAsync("(Ctrl+C stops)", TimeSpan.FromSeconds(30)), serve.StdErr);
        using var doc = JsonDocument.Parse(await File.ReadAllTextAsync(ready));
        var api = new Uri(doc.RootElement.GetProperty("api").GetString()!);
        var (exit, key, stderr) = await Tools.RunAsync("dotnet", SecMonRunner.Command("apikey", "create", "--name", "analyst", "--scope", "admin", "--data", data), TimeSpan.FromSeconds(60));
        Assert.True(exit == 0, stderr);

        var (subExit, _, subErr) = await Tools.RunAsync("mosquitto_sub",
            ["-h", "127.0.0.1", "-p", broker.Port.ToString(), "-i", "page-snoop", "-t", "#", "-W", "1"], TimeSpan.FromSeconds(30));
        Assert.True(subExit is 0 or 27, $"mosquitto_sub: {subExit} {subErr}");

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = Chromium,
            Headless = true,
            // As root in CI; and no calls home (this machine has no route out).
            Args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
        });
        // The API's certificate is SecMon's server certificate from the test's own CA, which this browser does not know.
        var context = await browser.NewContextAsync(new BrowserNewContextOptions { IgnoreHTTPSErrors = true, ViewportSize = new ViewportSize { Width = 1600, Height = 1000 } });
        var page = await context.NewPageAsync();
        var consoleErrors = new List<string>();
        page.Console += (_, m) =>
        {
            if (m.Type == "error")
            {
                consoleErrors.Add(m.Text);
            }
        };
        await page.GotoAsync(api.ToString());
        await page.FillAsync("#gate-key", key.Trim());
        await page.ClickAsync("#gate-form button[type=submit]");

        // The finding made from the traffic: search again until it is there (it is stored within a second).
        var watch = Stopwatch.StartNew();
        var row = page.Locator("#results tbody tr", new PageLocatorOptions { HasText = "SECMON-MQTT-0006" });
        while (await row.CountAsync() == 0 && watch.Elapsed < TimeSpan.FromSeconds(30))
        {
            await page.ClickAsync("#search button[type=submit]");
            await page.WaitForTimeoutAsync(250);
        }

        output.WriteLine($"finding on the page {watch.ElapsedMilliseconds} ms after the subscription ended");
        Assert.True(await row.CountAsync() == 1, "no SECMON-MQTT-0006 row on the page; status: " + await page.TextContentAsync("#status") + "\n" + serve.StdErr);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(Screenshots, "findings.png"), FullPage = true });

        await row.ClickAsync();
        await page.WaitForSelectorAsync("#detail h3");
        var detail = await page.TextContentAsync("#detail") ?? "";
        Assert.Contains("page-snoop", detail, StringComparison.Ordinal);
        Assert.Contains("rule.description", detail, StringComparison.Ordinal); // the ECS fields table
        Assert.Contains("State: open", detail, StringComparison.Ordinal);
        await page.ClickAsync("#detail button:has-text('Acknowledge')");
        await page.WaitForSelectorAsync("#workflow:has-text('acknowledged')");
        Assert.Equal("acknowledged", (await row.Locator("td").Nth(6).TextContentAsync())?.Trim());
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(Screenshots, "detail.png"), FullPage = true });

        await page.ClickAsync("nav button[data-tab=devices]");
        await page.WaitForSelectorAsync("#device-table tbody tr");
        Assert.Contains("anonymous", await page.TextContentAsync("#device-table") ?? "", StringComparison.Ordinal);
        var rows = await page.Locator("#device-table tbody tr").CountAsync();
        Assert.Equal($"{rows} of {rows} device(s), weakest posture first", await page.TextContentAsync("#devices-status"));
        Assert.True(await page.Locator("#devices-more").IsHiddenAsync(), "'More devices' shown with every device on the page");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(Screenshots, "devices.png"), FullPage = true });

        await page.ClickAsync("nav button[data-tab=plan]");
        var tokenButton = page.Locator("#plan-body button.token").First;
        await tokenButton.WaitForAsync(new LocatorWaitForOptions { Timeout = 30_000 });
        await tokenButton.ClickAsync();
        await page.WaitForSelectorAsync("#token-command");
        var command = await page.TextContentAsync("#token-command") ?? "";
        Assert.Contains("secmon enroll --server https://127.0.0.1:", command, StringComparison.Ordinal);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(Screenshots, "plan-token.png"), FullPage = true });

        // The token the page showed is one the CA knows (listed by the CA's own command).
        var tokenId = command.Split("--token ")[1].Split('.')[0];
        var (listExit, tokens, listErr) = await Tools.RunAsync("dotnet", SecMonRunner.Command("ca", "token", "list", "--ca-home", caHome, "--data", data), TimeSpan.FromSeconds(60));
        Assert.True(listExit == 0, listErr);
        Assert.Contains(tokenId, tokens, StringComparison.Ordinal);
        Assert.Empty(consoleErrors);

        await serve.InterruptAsync();
        Assert.Equal(0, await serve.WaitForExitAsync(TimeSpan.FromSeconds(60)));
    }
}
