using System.CommandLine;
using System.Security.Cryptography.X509Certificates;
using SecMon.Pki;

namespace SecMon.Cli;

/// <summary><c>secmon enroll</c> (bootstrap with a token) and <c>secmon enroll renew</c> (mutual TLS): the device-side EST client.</summary>
internal static class EnrollCommand
{
    /// <summary>Builds the <c>enroll</c> command.</summary>
    public static Command Create()
    {
        var server = new Option<string>("--server") { Description = "The EST server, e.g. https://ca.lan:8443", Required = true };
        var token = new Option<string>("--token") { Description = "The one-time enrollment token from `secmon ca token create`.", Required = true };
        var device = new Option<string>("--device-id") { Description = "This device's id (must be the one the token was made for).", Required = true };
        var output = new Option<string>("--out") { Description = "Directory for device.key.pem (0600), device.crt.pem, chain.pem, ca.pem, enroll.json.", Required = true };
        var caCert = new Option<string?>("--ca-cert") { Description = "The root CA certificate to trust (PEM), given out of band (RFC 7030 §4.1.1)." };
        var fingerprint = new Option<string?>("--ca-fingerprint") { Description = "Or: the root's SHA-256 fingerprint (openssl x509 -fingerprint -sha256); /cacerts is then accepted only if it holds that root." };
        var label = new Option<string?>("--label") { Description = "EST label (/.well-known/est/LABEL/...), selecting a profile." };
        var wait = new Option<string?>("--wait") { Description = "With manual approval: keep retrying (per Retry-After) for up to this long, e.g. 10m. Default: return at once." };
        var cmd = new Command("enroll",
            "Enroll this device over EST: make the key here (it never leaves), send a CSR with the one-time token, write key, certificate and chain.\n" +
            "Example: secmon enroll --server https://ca.lan:8443 --ca-cert root-ca.pem --token 3f2a...  --device-id sensor-42 --out /etc/secmon\n" +
            "Renew from a timer: secmon enroll renew --out /etc/secmon --before 7d");
        foreach (var o in new Option[] { server, token, device, output, caCert, fingerprint, label, wait })
        {
            cmd.Options.Add(o);
        }

        cmd.SetAction(async (parse, cancellationToken) =>
        {
            if (parse.GetValue(caCert) is null && parse.GetValue(fingerprint) is null)
            {
                Console.Error.WriteLine("secmon: give the CA to trust with --ca-cert ROOT.pem or --ca-fingerprint SHA256 (RFC 7030 §4.1.1 bootstrap).");
                return ExitCodes.Usage;
            }

            TimeSpan maxWait = TimeSpan.Zero;
            if (parse.GetValue(wait) is { } w && !CaDurations.TryParse(w, out maxWait))
            {
                Console.Error.WriteLine($"secmon: --wait {w}: not a duration (e.g. 10m).");
                return ExitCodes.Usage;
            }

            if (!Uri.TryCreate(parse.GetValue(server), UriKind.Absolute, out var url) || url.Scheme != "https")
            {
                Console.Error.WriteLine($"secmon: --server {parse.GetValue(server)}: give an https:// URL (EST runs over TLS).");
                return ExitCodes.Usage;
            }

            return await Run(async () =>
            {
                using var root = parse.GetValue(caCert) is { } path ? X509CertificateLoader.LoadCertificateFromFile(path) : null;
                var deadline = DateTimeOffset.UtcNow + maxWait;
                while (true)
                {
                    var attempt = await EnrollClient.EnrollAsync(url, parse.GetValue(token)!, parse.GetValue(device)!, new DeviceFiles(parse.GetValue(output)!),
                        root, parse.GetValue(fingerprint), parse.GetValue(label), cancellationToken).ConfigureAwait(false);
                    if (attempt.Status == 202 && DateTimeOffset.UtcNow + (attempt.RetryAfter ?? TimeSpan.FromSeconds(60)) <= deadline)
                    {
                        Console.Error.WriteLine($"pending approval; retrying in {(attempt.RetryAfter ?? TimeSpan.FromSeconds(60)).TotalSeconds:F0}s");
                        await Task.Delay(attempt.RetryAfter ?? TimeSpan.FromSeconds(60), cancellationToken).ConfigureAwait(false);
                        continue;
                    }

                    return Report(attempt);
                }
            }).ConfigureAwait(false);
        });

        cmd.Subcommands.Add(Renew());
        return cmd;
    }

    private static Command Renew()
    {
        var output = new Option<string>("--out") { Description = "The directory `secmon enroll` wrote.", Required = true };
        var before = new Option<string>("--before") { Description = "Renew when the certificate expires within this long: 7d, 36h. Default: 7d", DefaultValueFactory = _ => "7d" };
        var server = new Option<string?>("--server") { Description = "EST server (default: the one in enroll.json)." };
        var force = new Option<bool>("--force") { Description = "Renew now, however long the certificate has left." };
        var daemon = new Option<bool>("--daemon")
        {
            Description = "Keep running: renew at two thirds of each certificate's lifetime (less up to 5% jitter, at most 1h), retry failures " +
                "with backoff (1s doubling to 10m, within a quarter of the time left), log each step with a UTC timestamp, stop on SIGINT/SIGTERM. " +
                "Ends with an error when the certificate expired or the CA refuses it (revoked): enroll again with a new token. --before is not used.",
        };
        var exec = new Option<string?>("--exec")
        {
            Description = "With --daemon: run this through /bin/sh -c after each renewal (e.g. \"systemctl reload mosquitto\"); " +
                "SECMON_CERT_FILE, SECMON_KEY_FILE and SECMON_CHAIN_FILE give the files.",
            HelpName = "CMD",
        };
        var cmd = new Command("renew",
            "Re-enroll over mutual TLS with the current certificate when it is close to expiry (EST simplereenroll): a new key, the same subject.\n" +
            "Idempotent: exits 0 and does nothing while the certificate is not due, so it can run from a timer; or --daemon keeps it running.\n" +
            "Example: secmon enroll renew --out /etc/secmon --before 7d\n" +
            "         secmon enroll renew --out /etc/secmon --daemon --exec 'systemctl restart my-mqtt-client'");
        foreach (var o in new Option[] { output, before, server, force, daemon, exec })
        {
            cmd.Options.Add(o);
        }

        cmd.SetAction(async (parse, cancellationToken) =>
        {
            if (!CaDurations.TryParse(parse.GetValue(before), out var window))
            {
                Console.Error.WriteLine($"secmon: --before {parse.GetValue(before)}: not a duration (e.g. 7d).");
                return ExitCodes.Usage;
            }

            Uri? url = null;
            if (parse.GetValue(server) is { } s && (!Uri.TryCreate(s, UriKind.Absolute, out url) || url.Scheme != "https"))
            {
                Console.Error.WriteLine($"secmon: --server {s}: give an https:// URL.");
                return ExitCodes.Usage;
            }

            if (parse.GetValue(exec) is not null && !parse.GetValue(daemon))
            {
                Console.Error.WriteLine("secmon: --exec runs after each renewal of --daemon; give --daemon too (or run the command after a renew that exits 0).");
                return ExitCodes.Usage;
            }

            if (parse.GetValue(daemon))
            {
                var loop = new RenewDaemon(new DeviceFiles(parse.GetValue(output)!), url, parse.GetValue(exec), TimeProvider.System, Random.Shared, Console.Error);
                return await Run(() => loop.RunAsync(cancellationToken)).ConfigureAwait(false);
            }

            return await Run(async () => Report(await EnrollClient.RenewAsync(new DeviceFiles(parse.GetValue(output)!), url, window, parse.GetValue(force), TimeProvider.System, cancellationToken)
                .ConfigureAwait(false))).ConfigureAwait(false);
        });
        return cmd;
    }

    private static int Report(EnrollAttempt attempt)
    {
        switch (attempt.Status)
        {
            case 200:
            case 304:
                Console.Error.WriteLine(attempt.Message);
                return ExitCodes.Ok;
            case 202:
                Console.Error.WriteLine($"secmon: enrollment pending approval ({attempt.Message}); run the same command again later (or with --wait 10m).");
                return ExitCodes.TempFail;
            default:
                Console.Error.WriteLine("secmon: enrollment refused: " + attempt.Message);
                return attempt.Status is 401 or 403 ? ExitCodes.NoPermission : ExitCodes.InputDamaged;
        }
    }

    private static async Task<int> Run(Func<Task<int>> body)
    {
        try
        {
            return await body().ConfigureAwait(false);
        }
        catch (PkiException e)
        {
            Console.Error.WriteLine("secmon: " + e.Message);
            return ExitCodes.NoInput;
        }
        catch (HttpRequestException e)
        {
            Console.Error.WriteLine($"secmon: cannot reach the EST server: {e.Message}" + (e.InnerException is null ? "" : $" ({e.InnerException.Message})"));
            return ExitCodes.TempFail;
        }
        catch (TaskCanceledException e) when (e.InnerException is TimeoutException)
        {
            Console.Error.WriteLine("secmon: the EST server did not answer in time.");
            return ExitCodes.TempFail;
        }
        catch (IOException e)
        {
            Console.Error.WriteLine("secmon: " + e.Message);
            return ExitCodes.CantCreate;
        }
    }
}
