using Xunit;

namespace SecMon.Testing.FakeElasticsearch;

/// <summary>A fact that uses the fake Elasticsearch: skipped, with the reason, when the REST API specification it checks
/// requests against (<c>../shared/es-rest-api-spec</c>) is not beside the repository.</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class FakeElasticsearchFactAttribute : FactAttribute
{
    /// <summary>Skips the test when the specification is absent.</summary>
    public FakeElasticsearchFactAttribute()
    {
        if (RestApiSpec.Shipped is null)
        {
            Skip = RestApiSpec.MissingReason;
        }
    }
}
