using SecMon.Core.Configuration;
using SecMon.Core.Findings;

namespace SecMon.Findings.Elasticsearch;

/// <summary>Makes the Elasticsearch output from <c>outputs.elasticsearch</c> (see <see cref="ElasticsearchOptions"/>).</summary>
public sealed class ElasticsearchOutputFactory : IFindingOutputFactory
{
    /// <inheritdoc />
    public string Key => "elasticsearch";

    /// <inheritdoc />
    public IReadOnlyList<IFindingSink> Create(ConfigSection outputs, OutputContext context)
    {
        ArgumentNullException.ThrowIfNull(outputs);
        ArgumentNullException.ThrowIfNull(context);
        var options = Bind(outputs);
        return options is null ? [] : [new ElasticsearchSink(options, context.Time)];
    }

    /// <summary>Binds <c>outputs.elasticsearch</c> (null when absent, disabled or wrong; errors recorded). Relative
    /// paths are relative to the configuration file's directory.</summary>
    public static ElasticsearchOptions? Bind(ConfigSection outputs)
    {
        ArgumentNullException.ThrowIfNull(outputs);
        if (!outputs.Has("elasticsearch"))
        {
            return null;
        }

        var errorsBefore = outputs.Errors.ErrorCount;
        var options = ElasticsearchOptions.Bind(outputs.Section("elasticsearch"));
        return outputs.Errors.ErrorCount > errorsBefore ? null : options;
    }
}
