using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using MQTTnet;
using MQTTnet.Exceptions;
using MQTTnet.Formatter;
using MQTTnet.Protocol;
using SecMon.Core.Findings;
using SecMon.Findings.Spool;

namespace SecMon.Alerts.Mqtt;

/// <summary>
/// Publishes each finding's ECS document to an MQTT broker (MQTTnet), to the topic its template gives
/// (<see cref="MqttAlertOptions"/>). A batch counts as delivered only once the broker acknowledged every finding of it
/// (QoS 1: PUBACK); publishes are pipelined, many awaiting their acknowledgement at once.
/// </summary>
/// <remarks>
/// The sink sits behind the host's durable spool (<see cref="NeedsSpool"/>): while the broker is down or refuses the
/// connection, <see cref="Write"/> reports a transient failure and the findings wait in the spool, which offers the
/// same batch again later. Connection attempts are spaced by a backoff of their own (doubling from
/// <see cref="MqttAlertOptions.ReconnectDelay"/> to <see cref="MqttAlertOptions.MaxReconnectDelay"/>, with jitter), so
/// a broker that is down is not dialled on every retry. A batch whose acknowledgements did not all arrive is sent again
/// whole: subscribers may see a finding twice, always with the same <c>event.id</c> (at least once). A refusal the
/// broker gives per message (MQTT 5 PUBACK: not authorized, topic name invalid, payload format invalid) is permanent
/// for that finding alone (<see cref="SinkResult.Partial"/>): the spool puts it in its dead letters with the reason. Refused connections (bad user name or password,
/// not authorized, a broker certificate that does not verify) stay transient: nothing is lost while the configuration is
/// fixed, and the error says what the broker answered.
/// </remarks>
public sealed class MqttAlertSink : IDocumentSink, IConnectingSink, IDisposable
{
    private readonly MqttAlertOptions _options;
    private readonly TimeProvider _time;
    private readonly MqttClientFactory _factory = new();
    private IMqttClient? _client;
    private X509Certificate2Collection? _trust;
    private X509Certificate2? _clientCertificate;
    private int _window;
    private TimeSpan _delay;
    private DateTimeOffset _nextAttempt;
    private string? _lastConnectError;
    private string? _tlsRejection;
    private long _published;
    private long _connections;

    /// <summary>A sink for <paramref name="options"/>; nothing is read or connected until the first batch.</summary>
    public MqttAlertSink(MqttAlertOptions options, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        _time = time ?? TimeProvider.System;
        _delay = options.ReconnectDelay;
    }

    /// <inheritdoc />
    public string Name => "mqtt";

    /// <inheritdoc />
    public bool NeedsSpool => true;

    /// <summary>The options.</summary>
    public MqttAlertOptions Options => _options;

    /// <summary>Findings the broker acknowledged.</summary>
    public long Published => Interlocked.Read(ref _published);

    /// <summary>Publishes awaiting acknowledgement at once on the current connection: <see cref="MqttAlertOptions.MaxInflight"/>,
    /// or the broker's MQTT 5 receive maximum when lower (mosquitto's is its <c>max_inflight_messages</c>, 20 unless
    /// configured). 0 before the first connection.</summary>
    public int Window => _window;

    /// <summary>Successful connections made (1 while the first one lasts).</summary>
    public long Connections => Interlocked.Read(ref _connections);

    /// <inheritdoc />
    public SinkResult Write(IReadOnlyList<Finding> findings, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(findings);
        var selected = new List<Finding>(findings.Count);
        foreach (var f in findings)
        {
            if ((int)f.Severity >= _options.MinSeverity)
            {
                selected.Add(f);
            }
        }

        if (selected.Count == 0)
        {
            return SinkResult.Ok(0);
        }

        if (TryConnect(cancellationToken) is { } connectError)
        {
            return SinkResult.Failed(connectError, transient: true);
        }

        try
        {
            var refused = PublishAllAsync(_client!, selected, cancellationToken).GetAwaiter().GetResult();
            Interlocked.Add(ref _published, selected.Count - refused.Count);
            return refused.Count == 0 ? SinkResult.Ok(selected.Count) : SinkResult.Partial(selected.Count - refused.Count, refused);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            Drop();
            throw;
        }
        catch (Exception ex) when (ex is MqttCommunicationException or OperationCanceledException or IOException or ObjectDisposedException)
        {
            // The connection failed or the acknowledgements did not come in time: the whole batch goes again on a new
            // connection (its acknowledged findings too: at least once, same event.id).
            Drop();
            var why = ex is OperationCanceledException ? $"not every acknowledgement came within {_options.Timeout.TotalSeconds:0.#} s" : Describe(ex);
            return SinkResult.Failed($"{Where()}: publishing failed: {why}; the batch will be sent again", transient: true);
        }
    }

    /// <summary>Disconnects cleanly from the broker.</summary>
    public void Complete(CancellationToken cancellationToken) => Disconnect();

    /// <inheritdoc />
    /// <remarks>Connects to the broker. A failure does not start the reconnection backoff: the first
    /// <see cref="Write"/> tries again at once and reports it.</remarks>
    public void Connect(CancellationToken cancellationToken)
    {
        if (TryConnect(cancellationToken) is not null)
        {
            _nextAttempt = default;
            _delay = _options.ReconnectDelay;
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        Disconnect();
        _clientCertificate?.Dispose();
    }

    private string Where() => $"MQTT broker {_options.Broker.Scheme}://{_options.Broker.Host}:{_options.Port}";

    private string? TryConnect(CancellationToken cancellationToken)
    {
        if (_client is { IsConnected: true })
        {
            return null;
        }

        Drop();
        var now = _time.GetUtcNow();
        if (now < _nextAttempt)
        {
            return $"{Where()}: {_lastConnectError}; next connection attempt in {(_nextAttempt - now).TotalSeconds:0.#} s (findings wait in the spool)";
        }

        string error;
        try
        {
            // Built for every connection: a renewed client certificate (SecMon's device certificates are short-lived)
            // or CA file is picked up on the next reconnection.
            var clientOptions = BuildClientOptions();
            _tlsRejection = null;
            var client = _factory.CreateMqttClient();
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(_options.Timeout);
            MqttClientConnectResult result;
            try
            {
                result = client.ConnectAsync(clientOptions, timeout.Token).GetAwaiter().GetResult();
            }
            catch
            {
                client.Dispose();
                throw;
            }

            if (result.ResultCode == MqttClientConnectResultCode.Success)
            {
                _client = client;
                _window = Math.Max(1, Math.Min(_options.MaxInflight, result.ReceiveMaximum is > 0 and var max ? max : ushort.MaxValue));
                _delay = _options.ReconnectDelay;
                _lastConnectError = null;
                Interlocked.Increment(ref _connections);
                return null;
            }

            client.Dispose();
            error = $"the broker refused the connection: {result.ResultCode}{Reason(result.ReasonString)}" + result.ResultCode switch
            {
                MqttClientConnectResultCode.BadUserNameOrPassword or MqttClientConnectResultCode.NotAuthorized =>
                    " (check outputs.mqtt.username and the password, or the client certificate)",
                MqttClientConnectResultCode.UnsupportedProtocolVersion => " (set outputs.mqtt.protocol: 3.1.1 for an older broker)",
                _ => "",
            };
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception ex) when (ex is MqttCommunicationException or OperationCanceledException or IOException or AuthenticationException
            or CryptographicException or UnauthorizedAccessException or System.Net.Sockets.SocketException or MqttConfigurationException or ArgumentException)
        {
            error = ex is OperationCanceledException
                ? $"no answer within {_options.Timeout.TotalSeconds:0.#} s"
                : _tlsRejection is { } tls ? $"TLS: {tls}" : $"cannot connect: {Describe(ex)}";
        }

        _lastConnectError = error;
        var wait = _delay * (0.5 + Random.Shared.NextDouble());
        _nextAttempt = _time.GetUtcNow() + wait;
        _delay = TimeSpan.FromTicks(Math.Min(_options.MaxReconnectDelay.Ticks, _delay.Ticks * 2));
        return $"{Where()}: {error}; next attempt in {wait.TotalSeconds:0.#} s (findings wait in the spool)";
    }

    private async Task<List<RejectedFinding>> PublishAllAsync(IMqttClient client, List<Finding> findings, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.Timeout);
        var ct = timeout.Token;
        using var window = new SemaphoreSlim(_window);
        var pending = new List<Task<MqttClientPublishResult>>(findings.Count);
        var failed = 0;
        OperationCanceledException? stopped = null;
        try
        {
            foreach (var finding in findings)
            {
                await window.WaitAsync(ct).ConfigureAwait(false);
                if (Volatile.Read(ref failed) != 0)
                {
                    window.Release();
                    break; // the connection is gone: do not queue the rest behind it
                }

                pending.Add(PublishOneAsync(client, Message(finding), window, () => Volatile.Write(ref failed, 1), ct));
            }
        }
        catch (OperationCanceledException ex)
        {
            stopped = ex; // the acknowledgements are late; the publishes started end with the same token
        }

        // Every started publish ends (acknowledged, failed or cancelled by the same token) before the window goes.
        var results = await Task.WhenAll(pending).ConfigureAwait(false);
        if (stopped is not null)
        {
            throw stopped;
        }

        // Results are in the order of the findings (every one was started: a failure throws above).
        var refused = new List<RejectedFinding>();
        for (var i = 0; i < results.Length; i++)
        {
            // MQTT 5.0 §3.4.2.1: 0x10 No matching subscribers is a success code.
            var r = results[i];
            if (r.ReasonCode is not (MqttClientPublishReasonCode.Success or MqttClientPublishReasonCode.NoMatchingSubscribers))
            {
                refused.Add(new RejectedFinding(findings[i], $"{Where()} refused the publish to '{_options.Topic.Render(findings[i])}': {r.ReasonCode}{Reason(r.ReasonString)}"));
            }
        }

        return refused;
    }

    private static async Task<MqttClientPublishResult> PublishOneAsync(IMqttClient client, MqttApplicationMessage message, SemaphoreSlim window,
        Action onFailure, CancellationToken ct)
    {
        try
        {
            return await client.PublishAsync(message, ct).ConfigureAwait(false);
        }
        catch
        {
            onFailure();
            throw;
        }
        finally
        {
            window.Release();
        }
    }

    private MqttApplicationMessage Message(Finding finding)
    {
        var builder = new MqttApplicationMessageBuilder()
            .WithTopic(_options.Topic.Render(finding))
            .WithPayload(AlertJson.Utf8(finding))
            .WithQualityOfServiceLevel((MqttQualityOfServiceLevel)_options.Qos)
            .WithRetainFlag(_options.Retain);
        if (_options.Protocol == "5")
        {
            builder.WithContentType("application/json").WithPayloadFormatIndicator(MqttPayloadFormatIndicator.CharacterData);
        }

        return builder.Build();
    }

    private MqttClientOptions BuildClientOptions()
    {
        var v5 = _options.Protocol == "5";
        var builder = new MqttClientOptionsBuilder()
            .WithTcpServer(_options.Broker.Host, _options.Port)
            .WithClientId(_options.ClientId)
            .WithProtocolVersion(v5 ? MqttProtocolVersion.V500 : MqttProtocolVersion.V311)
            .WithCleanSession(_options.CleanStart)
            .WithKeepAlivePeriod(TimeSpan.FromSeconds(30))
            .WithTimeout(_options.Timeout);
        if (v5)
        {
            builder.WithSessionExpiryInterval((uint)Math.Min(uint.MaxValue, _options.SessionExpiry.TotalSeconds));
        }

        if (_options.Username is not null)
        {
            builder.WithCredentials(_options.Username, _options.Password);
        }

        // TCP and TLS are set up by MqttConnection (its stream gathers MQTTnet's writes): MQTTnet's own TLS stays off.
        Func<Stream, CancellationToken, Task<Stream>>? secure = null;
        if (_options.UseTls)
        {
            _trust = _options.CaFile is { } caFile ? LoadCertificates(caFile, "ca_file") : null;
            var clientCertificate = _options.CertFile is { } certFile && _options.KeyFile is { } keyFile ? LoadClientCertificate(certFile, keyFile) : null;
            _clientCertificate?.Dispose();
            _clientCertificate = clientCertificate;
            secure = (stream, ct) => SecureAsync(stream, clientCertificate, ct);
        }

        builder.WithStreamProvider(new MqttConnection(secure));
        return builder.Build();
    }

    private async Task<Stream> SecureAsync(Stream stream, X509Certificate2? clientCertificate, CancellationToken cancellationToken)
    {
        var ssl = new SslStream(stream, leaveInnerStreamOpen: false);
        try
        {
            await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
            {
                TargetHost = _options.ServerName ?? _options.Broker.Host,
                EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
                CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
                RemoteCertificateValidationCallback = (_, certificate, chain, errors) => ValidateBroker(certificate, chain, errors),
                LocalCertificateSelectionCallback = clientCertificate is null ? null : (_, _, _, _, _) => clientCertificate,
            }, cancellationToken).ConfigureAwait(false);
            return ssl;
        }
        catch
        {
            await ssl.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    // With ca_file, the broker's certificate must chain to one of its certificates (and to nothing else: the system's
    // roots are not consulted, as mosquitto's cafile); without it, the system's validation stands. The name is checked
    // either way (SslStream's RemoteCertificateNameMismatch).
    private bool ValidateBroker(X509Certificate? certificate, X509Chain? presented, SslPolicyErrors errors)
    {
        if (certificate is null)
        {
            errors |= SslPolicyErrors.RemoteCertificateNotAvailable;
        }

        if ((errors & (SslPolicyErrors.RemoteCertificateNotAvailable | SslPolicyErrors.RemoteCertificateNameMismatch)) != 0)
        {
            _tlsRejection = $"the broker's certificate {(errors.HasFlag(SslPolicyErrors.RemoteCertificateNotAvailable) ? "is missing" : $"does not name '{_options.ServerName ?? _options.Broker.Host}'")}";
            return false;
        }

        if (_trust is null)
        {
            if (errors != SslPolicyErrors.None)
            {
                _tlsRejection = $"the broker's certificate does not verify against the system's trusted roots ({errors}); set outputs.mqtt.tls.ca_file";
                return false;
            }

            return true;
        }

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(_trust);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.VerificationTime = _time.GetUtcNow().UtcDateTime;
        chain.ChainPolicy.ApplicationPolicy.Add(new Oid("1.3.6.1.5.5.7.3.1")); // serverAuth
        if (presented is not null)
        {
            foreach (var element in presented.ChainElements)
            {
                chain.ChainPolicy.ExtraStore.Add(element.Certificate);
            }
        }

        using var leaf = X509CertificateLoader.LoadCertificate(certificate!.GetRawCertData());
        if (chain.Build(leaf))
        {
            return true;
        }

        _tlsRejection = $"the broker's certificate does not chain to {_options.CaFile}: " +
            string.Join("; ", chain.ChainStatus.Select(s => s.StatusInformation.Trim()).Where(s => s.Length > 0).Distinct());
        return false;
    }

    private static X509Certificate2Collection LoadCertificates(string path, string key)
    {
        var collection = new X509Certificate2Collection();
        try
        {
            collection.ImportFromPemFile(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or CryptographicException)
        {
            throw new IOException($"outputs.mqtt.tls.{key} '{path}': {ex.Message}", ex);
        }

        return collection.Count > 0 ? collection : throw new IOException($"outputs.mqtt.tls.{key} '{path}' holds no PEM certificate");
    }

    private static X509Certificate2 LoadClientCertificate(string certFile, string keyFile)
    {
        try
        {
            using var pem = X509Certificate2.CreateFromPemFile(certFile, keyFile);
            // A key that lives only in memory cannot always be used by the TLS stack: round-trip through PKCS#12.
            return X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or CryptographicException)
        {
            // The message names the files, never their contents.
            throw new IOException($"outputs.mqtt.tls.cert_file '{certFile}' with key_file '{keyFile}': {ex.Message}", ex);
        }
    }

    private static string Reason(string? brokerText) =>
        string.IsNullOrWhiteSpace(brokerText) ? "" : $" ('{new string(brokerText.Take(200).Select(c => char.IsControl(c) ? ' ' : c).ToArray())}')";

    private static string Describe(Exception ex)
    {
        var inner = ex;
        while (inner.InnerException is not null && inner is MqttCommunicationException or AggregateException)
        {
            inner = inner.InnerException;
        }

        return inner.Message.Trim();
    }

    private void Drop()
    {
        var client = _client;
        _client = null;
        client?.Dispose();
    }

    private void Disconnect()
    {
        var client = _client;
        _client = null;
        if (client is null)
        {
            return;
        }

        try
        {
            if (client.IsConnected)
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                client.DisconnectAsync(new MqttClientDisconnectOptionsBuilder().Build(), timeout.Token).GetAwaiter().GetResult();
            }
        }
        catch (Exception ex) when (ex is MqttCommunicationException or OperationCanceledException or IOException)
        {
            // The broker is gone already: nothing to say goodbye to.
        }
        finally
        {
            client.Dispose();
        }
    }

}
