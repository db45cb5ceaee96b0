using System.CommandLine;
using SecMon.Hardening;
using SecMon.Pki.Ca;

namespace SecMon.Cli;

/// <summary><c>secmon harden plan|mosquitto</c>: from the inventory to certificates, and the broker configuration that
/// then requires them.</summary>
internal static class HardenCommand
{
    /// <summary>Builds the <c>harden</c> command.</summary>
    public static Command Create()
    {
        var command = new Command("harden",
            "Move MQTT devices from anonymous or cleartext-password logins to client certificates from SecMon's CA.\n" +
            "  plan       which devices still need it, per broker, with their identity and the steps\n" +
            "  mosquitto  the broker's mutual-TLS listener and an ACL built from the topics each device used\n" +
            "Example: secmon analyze site.pcap && secmon harden plan && secmon harden mosquitto --broker 10.0.0.5:1883 --out mosq/");
        command.Subcommands.Add(Plan());
        command.Subcommands.Add(Mosquitto());
        return command;
    }

    private static Option<string?> BrokerOption(string description) => new("--broker") { Description = description, HelpName = "ADDR:PORT" };

    private static Command Plan()
    {
        var data = FindingsCommand.DataOption();
        var broker = BrokerOption("Only this broker endpoint (IPv6 in brackets: [fd00::5]:1883), or every port of an address.");
        var json = FindingsCommand.JsonOption("the plan (per broker {\"kind\":\"broker\",\"broker\",\"accepts\",\"devices_needing_work\"}, then per device " +
            "{\"kind\":\"device\",\"device_id\",\"identity\",\"broker\",\"posture\",\"needs\",\"client_ids\",\"usernames\",\"mac\",\"ips\",\"steps\"})");
        var markdown = new Option<string?>("--markdown") { Description = "Also write the plan as a Markdown report to FILE (- for stdout, instead of the table).", HelpName = "FILE" };
        var caUrl = new Option<string>("--ca-url") { Description = "Where devices enrol (secmon serve's EST URL), used in the steps. Default: https://CA-HOST:8443", DefaultValueFactory = _ => "https://CA-HOST:8443" };
        var tlsPort = new Option<int>("--tls-port") { Description = "The broker's TLS listener devices move to, used in the steps. Default: 8883", DefaultValueFactory = _ => 8883 };
        var cmd = new Command("plan",
            "Which devices still log in to an MQTT broker anonymously or with a password in clear, grouped by broker\n" +
            "(address:port), with for each its identity (the certificate name it should get: its MQTT client id when it\n" +
            "has one that can be a certificate name, else its SecMon device id), what it needs and the steps:\n" +
            "a one-time token, `secmon enroll` on the device, reconnect to the TLS listener with the certificate.\n" +
            "Per broker, what it accepts now; a broker whose devices all use client certificates says it requires them.\n" +
            "Read from the data directory that `secmon analyze`, `capture` or `serve` keep.\n" +
            "Examples:\n" +
            "  secmon harden plan\n" +
            "  secmon harden plan --broker 10.0.0.5:1883 --markdown plan.md\n" +
            "  secmon harden plan --json | jq -r 'select(.kind == \"device\") | .identity'\n" +
            "  secmon harden plan --data /var/lib/secmon --ca-url https://ca.lan:8443 --markdown - > plan.md");
        foreach (var o in new Option[] { data, broker, json, markdown, caUrl, tlsPort })
        {
            cmd.Options.Add(o);
        }

        cmd.SetAction(result =>
        {
            var output = result.InvocationConfiguration.Output;
            var error = result.InvocationConfiguration.Error;
            BrokerEndpoint? filter = null;
            if (result.GetValue(broker) is { } b)
            {
                if (!BrokerEndpoint.TryParse(b, portOptional: true, out var ep))
                {
                    return FindingsCommand.Fail(error, ExitCodes.Usage, $"--broker '{b}' is not ADDR:PORT, [IPV6]:PORT or an address");
                }

                filter = ep;
            }

            var md = result.GetValue(markdown);
            var asJson = result.GetValue(json);
            if (md == "-" && asJson)
            {
                return FindingsCommand.Fail(error, ExitCodes.Usage, "--markdown - and --json both write to stdout: give --markdown a file name");
            }

            var port = result.GetValue(tlsPort);
            if (port is < 1 or > 65535)
            {
                return FindingsCommand.Fail(error, ExitCodes.Usage, $"--tls-port {port} is not a TCP port (1-65535)");
            }

            return FindingsCommand.WithStore(result.GetValue(data)!, error, store =>
            {
                var plan = PlanBuilder.Build(HardeningInputs.FromStore(store), filter,
                    new PlanSettings { CaUrl = result.GetValue(caUrl)!, TlsPort = port });
                if (md is not null)
                {
                    var text = PlanWriter.Markdown(plan, DateTimeOffset.UtcNow);
                    if (md == "-")
                    {
                        output.Write(text);
                    }
                    else
                    {
                        try
                        {
                            File.WriteAllText(md, text);
                        }
                        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                        {
                            return FindingsCommand.Fail(error, ExitCodes.CantCreate, $"cannot write {md}: {ex.Message}");
                        }

                        error.WriteLine($"secmon: wrote the plan to {md}");
                    }
                }

                if (asJson)
                {
                    foreach (var line in PlanWriter.JsonLines(plan))
                    {
                        output.WriteLine(line);
                    }
                }
                else if (md != "-")
                {
                    PlanWriter.Table(plan, output);
                }

                return ExitCodes.Ok;
            });
        });
        return cmd;
    }

    private static Command Mosquitto()
    {
        var data = FindingsCommand.DataOption();
        var broker = BrokerOption("The broker whose devices the ACL is for (its current listener, or its address for every port). " +
            "Required when the inventory has several brokers.");
        var caHome = CaCliSupport.CaHome();
        var outDir = new Option<string>("--out") { Description = "Directory to write secmon-listener.conf and secmon.acl into (created if missing).", Required = true, HelpName = "DIR" };
        var port = new Option<int>("--port") { Description = "The mutual-TLS listener's port. Default: 8883", DefaultValueFactory = _ => 8883 };
        var bind = new Option<string?>("--bind") { Description = "The address the listener binds to. Default: every address.", HelpName = "ADDR" };
        var certFile = new Option<string?>("--certfile") { Description = "The broker's certificate (PEM). Default: a placeholder path, with how to make one.", HelpName = "FILE" };
        var keyFile = new Option<string?>("--keyfile") { Description = "The broker's key (PEM, not encrypted). Default: a placeholder path.", HelpName = "FILE" };
        var aclPath = new Option<string?>("--acl-path") { Description = "The ACL's path as the broker reads it. Default: OUT/secmon.acl (absolute).", HelpName = "FILE" };
        var cmd = new Command("mosquitto",
            "Write a mosquitto 2.0 configuration for one broker from what SecMon observed there:\n" +
            "  secmon-listener.conf  a listener (8883) that requires a client certificate from SecMon's CA (cafile = the CA's\n" +
            "                        chain.pem, crlfile = its crl.pem), takes the certificate CN as the user name\n" +
            "                        (use_identity_as_username) and reads the ACL; the CA's passphrase is not needed\n" +
            "  secmon.acl            confines each identity to the topics it was seen using: `pattern readwrite site/%u/#` when\n" +
            "                        every device used topics under site/<its client id>/, else a `user`/`topic` block each\n" +
            "Devices that used topics the ACL would refuse are listed (and written into the ACL as comments), not locked out\n" +
            "silently: decide for each before the broker reloads. The identities are those of `secmon harden plan`.\n" +
            "Examples:\n" +
            "  secmon harden mosquitto --broker 10.0.0.5:1883 --ca-home certs --out /etc/mosquitto/conf.d\n" +
            "  secmon harden mosquitto --broker 10.0.0.5 --out mosq --certfile /etc/mosquitto/certs/broker.crt --keyfile /etc/mosquitto/certs/broker.key\n" +
            "  mosquitto -c /etc/mosquitto/mosquitto.conf   # with `include_dir /etc/mosquitto/conf.d`, then reload after each `secmon ca revoke`");
        foreach (var o in new Option[] { data, broker, caHome, outDir, port, bind, certFile, keyFile, aclPath })
        {
            cmd.Options.Add(o);
        }

        cmd.SetAction(result =>
        {
            var output = result.InvocationConfiguration.Output;
            var error = result.InvocationConfiguration.Error;
            var listenPort = result.GetValue(port);
            if (listenPort is < 1 or > 65535)
            {
                return FindingsCommand.Fail(error, ExitCodes.Usage, $"--port {listenPort} is not a TCP port (1-65535)");
            }

            BrokerEndpoint? filter = null;
            if (result.GetValue(broker) is { } b)
            {
                if (!BrokerEndpoint.TryParse(b, portOptional: true, out var ep))
                {
                    return FindingsCommand.Fail(error, ExitCodes.Usage, $"--broker '{b}' is not ADDR:PORT, [IPV6]:PORT or an address");
                }

                filter = ep;
            }

            var bindAddress = result.GetValue(bind);
            if (bindAddress is not null && !System.Net.IPAddress.TryParse(bindAddress, out _))
            {
                return FindingsCommand.Fail(error, ExitCodes.Usage, $"--bind '{bindAddress}' is not an IP address");
            }

            var paths = new CaPaths(Path.GetFullPath(result.GetValue(caHome)!));
            foreach (var f in new[] { paths.Chain, paths.CrlPem })
            {
                if (!File.Exists(f))
                {
                    return FindingsCommand.Fail(error, ExitCodes.NoInput, $"{f} not found: is --ca-home the CA's home (secmon ca init)?");
                }
            }

            var files = new[] { result.GetValue(certFile), result.GetValue(keyFile), result.GetValue(aclPath) };
            if (files.Any(f => f is not null && f.Any(char.IsControl)))
            {
                return FindingsCommand.Fail(error, ExitCodes.Usage, "a file name with a line break or control character cannot go into mosquitto.conf");
            }

            if ((files[0] is null) != (files[1] is null))
            {
                return FindingsCommand.Fail(error, ExitCodes.Usage, "--certfile and --keyfile go together");
            }

            var dir = Path.GetFullPath(result.GetValue(outDir)!);
            return FindingsCommand.WithStore(result.GetValue(data)!, error, store =>
            {
                var inputs = HardeningInputs.FromStore(store);
                if (filter is not { } target)
                {
                    var brokers = PlanBuilder.Clients(inputs).SelectMany(c => c.Endpoints).Distinct().Order().ToList();
                    if (brokers.Count != 1)
                    {
                        return FindingsCommand.Fail(error, ExitCodes.Usage, brokers.Count == 0
                            ? "no MQTT brokers in the inventory: run 'secmon analyze FILE' first"
                            : $"several brokers seen ({string.Join(", ", brokers)}): choose one with --broker ADDR:PORT");
                    }

                    target = brokers[0];
                }

                var devices = MosquittoConfig.DevicesOf(inputs, target);
                if (devices.Count == 0)
                {
                    return FindingsCommand.Fail(error, ExitCodes.Usage, $"no MQTT clients of broker {target.Display} in the inventory");
                }

                var acl = files[2] ?? Path.Combine(dir, "secmon.acl");
                var generated = MosquittoConfig.Generate(devices, target, new MosquittoSettings
                {
                    CaFile = paths.Chain,
                    CrlFile = paths.CrlPem,
                    AclFile = Path.GetFullPath(acl),
                    CertFile = files[0] is { } c ? Path.GetFullPath(c) : null,
                    KeyFile = files[1] is { } k ? Path.GetFullPath(k) : null,
                    Port = listenPort,
                    BindAddress = bindAddress,
                }, DateTimeOffset.UtcNow);
                try
                {
                    Directory.CreateDirectory(dir);
                    File.WriteAllText(Path.Combine(dir, "secmon-listener.conf"), generated.Listener);
                    File.WriteAllText(Path.Combine(dir, "secmon.acl"), generated.Acl);
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                {
                    return FindingsCommand.Fail(error, ExitCodes.CantCreate, $"cannot write into {dir}: {ex.Message}");
                }

                output.WriteLine($"Broker {target.Display}: {generated.Identities.Count} identit{(generated.Identities.Count == 1 ? "y" : "ies")} " +
                    $"({string.Join(", ", generated.Identities.Select(i => i.Identity))}).");
                output.WriteLine(generated.Pattern is { } p
                    ? $"ACL: {p} (every device used topics under its own client id)."
                    : "ACL: topics per identity (no common <prefix>/<client id>/ convention).");
                output.WriteLine($"Wrote {Path.Combine(dir, "secmon-listener.conf")} and {Path.Combine(dir, "secmon.acl")}.");
                if (generated.WouldBreak.Count == 0)
                {
                    output.WriteLine("No device used a topic the ACL refuses.");
                }
                else
                {
                    output.WriteLine($"{generated.WouldBreak.Count} device{(generated.WouldBreak.Count == 1 ? "" : "s")} would be refused topics they used (commented in the ACL; allow them there if they should):");
                    foreach (var w in generated.WouldBreak)
                    {
                        output.WriteLine($"  {w.Identity} (device {w.DeviceId}): {string.Join(", ", w.Topics.Take(10))}{(w.Topics.Count > 10 ? $" (+{w.Topics.Count - 10})" : "")}, {w.Reason}");
                    }
                }

                return ExitCodes.Ok;
            });
        });
        return cmd;
    }
}
