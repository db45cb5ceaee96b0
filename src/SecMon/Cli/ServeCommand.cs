using System.CommandLine;
using System.Net;
using SecMon.Api;
using Microsoft.Extensions.DependencyInjection;
using SecMon.Est;
using SecMon.Findings.Store;
using SecMon.Pki.Ca;
using SecMon.Pki.Est;

namespace SecMon.Cli;

/// <summary>
/// <c>secmon serve</c>: the long-running service. The PKI endpoints (EST over HTTPS, CRL and OCSP over HTTP), and with
/// <c>--interface</c> the sensor beside them (what <c>secmon capture</c> does: live capture, rules, findings, devices and
/// baselines in the same data directory).
/// </summary>
internal static class ServeCommand
{
    /// <summary>Builds the <c>serve</c> command.</summary>
    public static Command Create()
    {
        var opts = CaCliSupport.NewCaOptions();
        var https = new Option<string>("--https")
        {
            Description = "HTTPS listen address for EST. Default: 0.0.0.0:8443 (every address of this host, so devices can reach it; " +
                "127.0.0.1:8443 for this host only, or this host's address on the device network)",
            DefaultValueFactory = _ => "0.0.0.0:8443",
        };
        var http = new Option<string>("--http")
        {
            Description = "HTTP listen address for the CRL and OCSP (\"none\" to disable). Default: 0.0.0.0:8080 (every address, as --https)",
            DefaultValueFactory = _ => "0.0.0.0:8080",
        };
        var names = new Option<string[]>("--server-name") { Description = "DNS name devices use to reach this server, for its TLS certificate (repeat). Default: localhost" };
        var ips = new Option<string[]>("--server-ip") { Description = "IP address devices use to reach this server, for its TLS certificate (repeat). Default: 127.0.0.1" };
        var publicUrl = new Option<string?>("--public-url")
        {
            Description = "Base URL of the HTTP listener as devices and brokers see it (http://ca.lan:8080), written into new certificates' " +
                "CRL distribution point and OCSP AIA; \"auto\" = the bound HTTP address. Default: the URLs in ca.json.",
        };
        var approval = new Option<string>("--approval") { Description = "auto (default): enroll at once; manual: hold each enrollment (202 + Retry-After) until `secmon ca approve ID`.", DefaultValueFactory = _ => "auto" };
        var rate = new Option<double>("--rate-limit") { Description = "EST requests per second per client address (burst 5x); 0 = unlimited. Default: 20", DefaultValueFactory = _ => 20 };
        var tokenRate = new Option<double>("--token-rate-limit")
        {
            Description = "Token attempts per minute: per token, counting attempts whose secret verified, and per client address, counting failed ones " +
                "(so a stranger who knows a token's id cannot lock its device out); 0 = unlimited. Default: 10",
            DefaultValueFactory = _ => 10,
        };
        var api = new Option<string>("--api")
        {
            Description = "HTTPS listen address of the analysts' API (/api/v1/..., API keys from 'secmon apikey create'; \"none\" to disable).\n" +
                "Default: 127.0.0.1:8444 (this host only; 0.0.0.0:8444 for every address). Always HTTPS: SecMon's server certificate\n" +
                "from the CA, or without a CA a self-signed one kept in DATA/api-tls.pfx whose SHA-256 fingerprint is printed at start.",
            DefaultValueFactory = _ => "127.0.0.1:8444",
            HelpName = "ADDRESS:PORT",
        };
        var apiRate = new Option<int>("--api-rate-limit")
        {
            Description = "API requests per second per key (burst 5x), and twice that per client address; over it: 429 with Retry-After. Default: 20",
            DefaultValueFactory = _ => 20,
            HelpName = "N",
        };
        var perAddress = new Option<int>("--max-connections-per-address")
        {
            Description = "Connections each listener (EST, CRL/OCSP, API) holds open from one client address (an IPv6 /64); more are closed\n" +
                "before their TLS handshake and counted in secmon_connections_refused_total. Raise it for many devices behind one NAT address\n" +
                $"or a reverse proxy. Default: {Api.ConnectionGuard.DefaultPerAddress}",
            DefaultValueFactory = _ => Api.ConnectionGuard.DefaultPerAddress,
            HelpName = "N",
        };
        var maxConnections = new Option<int>("--max-connections")
        {
            Description = $"Connections each listener holds open in all (the same refusal). Default: {Api.ConnectionGuard.DefaultTotal}",
            DefaultValueFactory = _ => Api.ConnectionGuard.DefaultTotal,
            HelpName = "N",
        };
        var httpMetrics = new Option<bool>("--http-metrics")
        {
            Description = "Also answer /metrics (Prometheus) without authentication on the HTTP listener (CRL/OCSP), for a scraper without\n" +
                "credentials on a network you trust. Default: off (devices reach that listener); /api/metrics serves it with a read key.",
        };
        var ready = new Option<string?>("--ready-file") { Description = "Once listening, write {\"https\":URL,\"http\":URL,\"api\":URL} here (for scripts that start the server with port 0; null for what does not run)." };
        var onCrlChange = CaCliSupport.OnCrlChange();
        var quiet = new Option<bool>("--quiet") { Description = "Log warnings only (not every issuance)." };
        var source = new CaptureSourceOptions();
        source.Interface.Description = "Also run the sensor on this interface (or several: -i eth0 -i eth1), as 'secmon capture' does (root or\n" +
            "CAP_NET_RAW): rules, findings, devices and baselines in the --data directory; findings are logged on stderr as they are made.\n" +
            "Without -i or --watch, the configuration's capture.interfaces or capture.watch, when given.";
        var saveEvery = CliHelpers.DurationOption("--save-every", "With --interface: how often devices and baselines are saved (default 1m).");
        var retention = CaptureCommand.RetentionOption();
        var detect = new DetectOptions();
        var config = new ConfigOption();
        var logFormat = CliHelpers.LogFormatOption();
        var cmd = new Command("serve",
            "The long-running service: the analysts' HTTPS API, the CA's endpoints when there is a CA, and with --interface the sensor.\n" +
            "  API   https://127.0.0.1:8444/api/v1/ (--api): findings search and workflow, stats, devices, the hardening plan, rules;\n" +
            "        every request needs a key: 'secmon apikey create --name alice --scope read' prints one, sent as\n" +
            "        'Authorization: Bearer KEY'; or, with a CA, an analyst's client certificate ('secmon ca issue --profile analyst\n" +
            "        --scope read|write|admin'). The OpenAPI document is /api/openapi.json. README.md, section API, has curl examples.\n" +
            "  CA    when the CA home (--ca-home) holds a CA ('secmon ca init'): EST (RFC 7030) at https://HOST:8443/.well-known/est/\n" +
            "        (cacerts, simpleenroll, simplereenroll, csrattrs, serverkeygen), the CRL at http://HOST:8080/pki/crl (DER) and\n" +
            "        /pki/crl.pem, OCSP at http://HOST:8080/pki/ocsp (RFC 6960). Without a CA these do not run, and serve says so.\n" +
            "  Sensor with --interface (root or CAP_NET_RAW): rules, findings, devices and baselines in the --data directory; rules\n" +
            "        switched off or reloaded through the API apply to it at once, without a restart.\n" +
            "An invalid rule pack stops it before it listens (every error listed). EST and CRL/OCSP listen on every address by\n" +
            "default (devices must reach them) and serve says so at start; --https 127.0.0.1:8443 --http 127.0.0.1:8080 keeps them\n" +
            "to this host. The API listens on this host only unless --api says otherwise.\n" +
            "Health: /healthz and /readyz (503 with the reasons when not ready) on the API's listener (brief reasons, no key needed) and on\n" +
            "the HTTP listener (whole reasons); metrics: /api/metrics with a read key, and /metrics on the HTTP listener with --http-metrics.\n" +
            "SIGTERM or Ctrl+C drains the sensor: every finding is stored, and what an output has not taken waits in its spool. A second\n" +
            "SIGTERM or Ctrl+C during the drain exits at once with 130, saying what was not flushed (spools stay for the next start).\n" +
            "Examples:\n" +
            "  secmon serve                                     # the API alone, on 127.0.0.1:8444, with the embedded store\n" +
            "  secmon apikey create --name alice --scope read  # then: curl --cacert ... -H \"Authorization: Bearer KEY\" https://127.0.0.1:8444/api/v1/findings\n" +
            "  SECMON_CA_PASSPHRASE=... secmon serve --server-name ca.lan --server-ip 10.0.0.2 --public-url http://ca.lan:8080\n" +
            "  SECMON_CA_PASSPHRASE=... sudo -E secmon serve -i eth0 --bpf \"tcp port 1883 or tcp port 8883\" --learning 24h");
        opts.AddTo(cmd);
        foreach (var o in (Option[])[api, apiRate, https, http, perAddress, maxConnections, httpMetrics, names, ips, publicUrl, approval, rate, tokenRate, ready, onCrlChange, quiet, .. source.All, saveEvery, retention, detect.Rules, detect.Learning, config.File, logFormat])
        {
            cmd.Options.Add(o);
        }

        cmd.SetAction(async (parse, cancellationToken) =>
        {
            // The sensor's options and rules first: an invalid rule pack stops serve before it listens.
            var sensor = new DetectOptions.Values(false, parse.GetValue(detect.Rules) ?? [], parse.GetValue(detect.Learning), false);
            if (sensor.Learning?.Share is not null)
            {
                Console.Error.WriteLine("secmon: " + LearningSpec.ShareNeedsFiles);
                return ExitCodes.Usage;
            }

            var settings = config.Load(parse, opts.Data, out var configExit);
            if (settings is null)
            {
                return configExit;
            }

            if (!source.TryResolve(parse, settings, optional: true, out var interfaces, out var watch))
            {
                return ExitCodes.Usage;
            }

            var sensorInterface = interfaces is not null ? string.Join(",", interfaces.Select(i => i.Name)) : watch?.Directory;
            if (sensorInterface is null && (sensor.RuleDirs.Length > 0 || sensor.Learning is not null || parse.GetValue(retention) is not null))
            {
                Console.Error.WriteLine("secmon: --rules, --learning and --retention configure the sensor: give --interface IF (or --watch DIR) too.");
                return ExitCodes.Usage;
            }

            // The rules always load (the API lists them; the sensor runs them): an invalid pack stops serve before it listens.
            var shipped = RulesCommand.DefaultRulesDirectory();
            string[] rulePaths = [.. (shipped is null ? [] : new[] { shipped }), .. settings.RuleDirectories, .. sensor.RuleDirs];
            var rules = DetectOptions.LoadRules([.. settings.RuleDirectories, .. sensor.RuleDirs], out var rulesExit);
            if (rules is null)
            {
                return rulesExit;
            }

            if (!IPEndPoint.TryParse(parse.GetValue(https)!, out var httpsEndpoint))
            {
                Console.Error.WriteLine($"secmon: --https {parse.GetValue(https)}: not an ADDRESS:PORT (e.g. 0.0.0.0:8443).");
                return ExitCodes.Usage;
            }

            IPEndPoint? httpEndpoint = null;
            if (parse.GetValue(http) != "none" && !IPEndPoint.TryParse(parse.GetValue(http)!, out httpEndpoint))
            {
                Console.Error.WriteLine($"secmon: --http {parse.GetValue(http)}: not an ADDRESS:PORT (e.g. 0.0.0.0:8080) or none.");
                return ExitCodes.Usage;
            }

            IPEndPoint? apiEndpoint = null;
            if (parse.GetValue(api) != "none" && !IPEndPoint.TryParse(parse.GetValue(api)!, out apiEndpoint))
            {
                Console.Error.WriteLine($"secmon: --api {parse.GetValue(api)}: not an ADDRESS:PORT (e.g. 127.0.0.1:8444) or none.");
                return ExitCodes.Usage;
            }

            if (parse.GetValue(apiRate) < 1)
            {
                Console.Error.WriteLine("secmon: --api-rate-limit must be 1 or more (requests per second per key).");
                return ExitCodes.Usage;
            }

            if (parse.GetValue(perAddress) < 1 || parse.GetValue(maxConnections) < parse.GetValue(perAddress))
            {
                Console.Error.WriteLine("secmon: --max-connections-per-address takes a whole number, 1 or more, and --max-connections one at least as large " +
                    $"(given {parse.GetValue(perAddress)} and {parse.GetValue(maxConnections)}).");
                return ExitCodes.Usage;
            }

            var serverIps = new List<IPAddress>();
            foreach (var s in parse.GetValue(ips) is { Length: > 0 } given ? given : ["127.0.0.1"])
            {
                if (!IPAddress.TryParse(s, out var a))
                {
                    Console.Error.WriteLine($"secmon: --server-ip {s}: not an IP address.");
                    return ExitCodes.Usage;
                }

                serverIps.Add(a);
            }

            var mode = parse.GetValue(approval);
            if (mode is not ("auto" or "manual"))
            {
                Console.Error.WriteLine($"secmon: --approval {mode}: use auto or manual.");
                return ExitCodes.Usage;
            }

            // The command line and the configuration are valid: from here on stderr is the service's log.
            CliHelpers.InstallLog(parse, logFormat);
            var serverNames = parse.GetValue(names) is { Length: > 0 } n ? n : ["localhost"];
            var caOptions = opts.Read(parse) with { DataDirectory = settings.DataDirectory, OnCrlChange = parse.GetValue(onCrlChange) };
            var hasCa = File.Exists(new CaPaths(caOptions.CaHome).Settings);
            var logLevel = parse.GetValue(quiet) ? Microsoft.Extensions.Logging.LogLevel.Warning : Microsoft.Extensions.Logging.LogLevel.Information;
            var control = new RuleControl(rulePaths, rules, settings.DataDirectory);
            ApiContext? apiContext = null;
            if (apiEndpoint is not null)
            {
                apiContext = OpenApi(settings, control, out var apiExit);
                if (apiContext is null)
                {
                    return apiExit;
                }
            }

            // serve's collections are blocking (no background gen2). A background gen2 never compacts, so the collector
            // kept 170-190 MB committed for 80-110 MB live and serve's peak RSS was 286-315 MB at 100,000 packets/s; with
            // blocking collections, which compact a fragmented heap, 260-280 MB, drops and search latency no worse in
            // alternated runs (bench/README.md, "Session 14: serve's memory"). Set here and not in the
            // runtimeconfig: analyze keeps its background collections (a blocking gen0 budget cost it 100 MB and speed,
            // SecMon.csproj's note on ConcurrentGarbageCollection).
            System.Runtime.GCSettings.LatencyMode = System.Runtime.GCLatencyMode.Batch;

            ServiceHost server;
            try
            {
                server = await ServiceHost.StartAsync(new ServiceHostOptions
                {
                    Pki = !hasCa ? null : new PkiServerOptions
                    {
                        Ca = caOptions,
                        Est = new EstOptions
                        {
                            RequireApproval = mode == "manual",
                            ClientPerSecond = parse.GetValue(rate),
                            ClientBurst = Math.Max(1, parse.GetValue(rate) * 5),
                            TokenPerMinute = parse.GetValue(tokenRate),
                        },
                        Https = httpsEndpoint,
                        Http = httpEndpoint,
                        ServerNames = serverNames,
                        ServerIps = serverIps,
                        PublicUrl = parse.GetValue(publicUrl),
                        LogLevel = logLevel,
                    },
                    Api = apiContext is null ? null : new ApiHostOptions
                    {
                        Context = apiContext,
                        Endpoint = apiEndpoint!,
                        KeyPerSecond = parse.GetValue(apiRate),
                        KeyBurst = parse.GetValue(apiRate) * 5,
                        AddressPerSecond = parse.GetValue(apiRate) * 2,
                        AddressBurst = parse.GetValue(apiRate) * 10,
                    },
                    ServerNames = serverNames,
                    ServerIps = serverIps,
                    LogLevel = logLevel,
                    MetricsOnHttp = parse.GetValue(httpMetrics),
                    ConnectionsPerAddress = parse.GetValue(perAddress),
                    ConnectionsPerListener = parse.GetValue(maxConnections),
                }, cancellationToken).ConfigureAwait(false);
            }
            catch (SecMon.Pki.PkiException e)
            {
                apiContext?.Dispose();
                Console.Error.WriteLine("secmon: " + e.Message);
                return ExitCodes.NoInput;
            }
            catch (IOException e)
            {
                apiContext?.Dispose();
                Console.Error.WriteLine($"secmon: cannot listen: {e.Message}");
                return ExitCodes.CantCreate;
            }

            await using (server.ConfigureAwait(false))
            {
                if (parse.GetValue(ready) is { } readyFile)
                {
                    // Written beside it and renamed: a script that waits for the file to exist reads it whole, never
                    // an empty file that is still being written (and a stop after it exists finds serve started).
                    var partial = readyFile + ".partial";
                    await File.WriteAllTextAsync(partial,
                        System.Text.Json.JsonSerializer.Serialize(new { https = server.HttpsUrl?.ToString(), http = server.HttpUrl?.ToString(), api = server.ApiUrl?.ToString() }),
                        cancellationToken).ConfigureAwait(false);
                    File.Move(partial, readyFile, overwrite: true);
                }

                foreach (var line in Describe(server, caOptions.CaHome, sensorInterface))
                {
                    Console.Error.WriteLine("secmon serve: " + line);
                }

                // The sensor stops with serve (Ctrl+C, SIGTERM) and saves what it holds; serve stops with the sensor
                // when it cannot run (no such interface, no permission, the store failing), with the sensor's exit code.
                using var stopSensor = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                var monitor = server.Services.GetRequiredService<SecMon.Ops.SensorMonitor>();
                monitor.DataDirectory = settings.DataDirectory;
                SecMon.Ops.SecondSignal.Tell(monitor.Unflushed);
                if (sensorInterface is not null)
                {
                    monitor.Expect(sensorInterface);
                }

                var sensorOptions = new SecMon.Hosting.SensorOptions
                {
                    DataDirectory = settings.DataDirectory,
                    Rules = control.Switch.Current,
                    RuleSwitch = control.Switch,
                    Outputs = settings.Outputs,
                    Spool = settings.Spool,
                    Identity = settings.Identity,
                    Capture = settings.Capture,
                    Protocols = settings.Protocols,
                    Baselines = sensor.Learning?.ToOptions(),
                    SaveEvery = parse.GetValue(saveEvery) ?? TimeSpan.FromMinutes(1),
                    TickEvery = TimeSpan.FromMilliseconds(200),
                    Monitor = monitor,
                };
                var sensorRun = sensorInterface is null ? null
                    : watch is not null
                    ? Task.Run(() => SecMon.Hosting.Sensor.WatchAsync(sensorOptions, new SecMon.Hosting.WatchSource(watch, Retention: parse.GetValue(retention)), stopSensor.Token), CancellationToken.None)
                    : Task.Run(() => SecMon.Hosting.Sensor.CaptureAsync(sensorOptions, new SecMon.Hosting.LiveSource(interfaces!, Retention: parse.GetValue(retention)), stopSensor.Token), CancellationToken.None);
                var shutdown = server.WaitForShutdownAsync(cancellationToken);
                if (sensorRun is null)
                {
                    await Stopped(shutdown).ConfigureAwait(false);
                    return ExitCodes.Ok;
                }

                if (await Task.WhenAny(shutdown, sensorRun).ConfigureAwait(false) == sensorRun && !cancellationToken.IsCancellationRequested)
                {
                    var failed = await sensorRun.ConfigureAwait(false);
                    Console.Error.WriteLine($"secmon serve: the sensor on {sensorInterface} stopped (exit {failed}); stopping");
                    return failed == ExitCodes.Ok ? ExitCodes.Software : failed;
                }

                stopSensor.Cancel();
                await Stopped(shutdown).ConfigureAwait(false);
                return await sensorRun.ConfigureAwait(false);
            }
        });
        return cmd;
    }

    // What the API reads and writes: the data directory's store (created when missing: serve alone runs with the
    // embedded store), or Elasticsearch for findings when the configuration says so; the workflow and audit database;
    // the keys. Null with the exit code after saying why.
    private static ApiContext? OpenApi(SecMon.Hosting.Configuration.SecMonConfig settings, RuleControl control, out int exitCode)
    {
        exitCode = ExitCodes.Ok;
        var opened = FindingStore.Open(settings.DataDirectory, new FindingStoreOptions { Upgrading = Cli.CliHelpers.Error });
        if (opened.Store is null)
        {
            Console.Error.WriteLine("secmon: " + opened.Error!.Message);
            exitCode = FindingsCommand.ExitCodeFor(opened.Error.Kind);
            return null;
        }

        var local = opened.Store;
        IFindingReader findings = local;
        if (settings.Store == "elasticsearch")
        {
            if (SecMon.Hosting.FindingReaders.OpenElasticsearch(settings, out var problem) is not { } reader)
            {
                local.Dispose();
                Console.Error.WriteLine("secmon: " + problem);
                exitCode = ExitCodes.Config;
                return null;
            }

            findings = reader;
        }

        ApiStateStore state;
        try
        {
            state = ApiStateStore.Open(settings.DataDirectory);
        }
        catch (Exception ex) when (ex is Microsoft.Data.Sqlite.SqliteException or IOException or UnauthorizedAccessException)
        {
            if (!ReferenceEquals(findings, local))
            {
                findings.Dispose();
            }

            local.Dispose();
            Console.Error.WriteLine($"secmon: cannot open {Path.Combine(settings.DataDirectory, ApiStateStore.FileName)}: {ex.Message}");
            exitCode = ExitCodes.CantCreate;
            return null;
        }

        return new ApiContext
        {
            DataDirectory = settings.DataDirectory,
            Findings = findings,
            Local = local,
            State = state,
            Rules = control,
            Keys = new ApiKeyStore(settings.DataDirectory),
        };
    }

    // What runs and what does not, where, and how to reach it.
    private static IEnumerable<string> Describe(ServiceHost server, string caHome, string? sensorInterface)
    {
        if (server.ApiUrl is { } api)
        {
            yield return $"API {api}api/v1/  (OpenAPI: {api}api/openapi.json; keys: secmon apikey create --name NAME --scope read|write|admin)";
            if (server.ApiSelfSignedFingerprint is { } fingerprint)
            {
                yield return $"API certificate: self-signed (no CA), SHA-256 {fingerprint}; clients check this fingerprint, or trust {ApiCertificate.FileName} in the data directory";
            }

            if (IPAddress.TryParse(api.Host.Trim('[', ']'), out var a) && (a.Equals(IPAddress.Any) || a.Equals(IPAddress.IPv6Any)))
            {
                yield return $"{api.Authority}: every address of this host accepts API connections (HTTPS, with API keys); --api 127.0.0.1:{api.Port} keeps the API to this host";
            }
        }
        else
        {
            yield return "no API (--api none)";
        }

        if (server.Ca is { } ca)
        {
            yield return $"EST {server.HttpsUrl}.well-known/est/  CRL {ca.CrlUrl}  OCSP {ca.OcspUrl}";
            foreach (var line in PkiServer.DescribeListeners(server.HttpsUrl!, server.HttpUrl))
            {
                yield return line;
            }
        }
        else
        {
            yield return $"no CA in {Path.GetFullPath(caHome)}: EST, CRL and OCSP do not run ('secmon ca init' makes a CA; then restart serve)";
        }

        yield return sensorInterface is null
            ? "no sensor (give --interface IF to capture)"
            : $"sensor on {sensorInterface}";
        yield return "(Ctrl+C stops)";
    }
    private static async Task Stopped(Task shutdown)
    {
        try
        {
            await shutdown.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
    }
}
