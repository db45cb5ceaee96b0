namespace SecMon.Ops;

/// <summary>
/// Where the operator's endpoints answer (<see cref="OpsEndpoints"/>). A singleton of the host; <see cref="ApiPort"/> is
/// set once the API's listener is bound.
/// </summary>
internal sealed class OpsOptions
{
    /// <summary>
    /// True to answer <c>/metrics</c> without authentication on the plain-HTTP listener (CRL and OCSP), for a Prometheus
    /// that scrapes without credentials on a network the operator trusts (<c>serve --http-metrics</c>). Default false:
    /// that listener is reached by devices, and the exposition tells who is on the network and what SecMon sees; the API's
    /// <c>/api/metrics</c> serves the same with a read key.
    /// </summary>
    public bool MetricsOnHttp { get; init; }

    /// <summary>The API's bound port (HTTPS), where <c>/healthz</c> and <c>/readyz</c> answer too; null: no API.</summary>
    public int? ApiPort { get; set; }
}
