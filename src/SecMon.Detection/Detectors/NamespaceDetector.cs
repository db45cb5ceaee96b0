using SecMon.Core.Events;
using SecMon.Detection.Conditions;
using SecMon.Detection.Engine;
using SecMon.Detection.Model;

namespace SecMon.Detection.Detectors;

/// <summary>
/// Cross-namespace activity: within a scope (a broker), clients whose resource (topic) carries their own
/// identity (client id) as a whole level establish the convention; a client acting on a resource that does not
/// carry its identity, while at least <c>min_peers</c> other clients keep to theirs, is reported. Before the
/// convention is seen nothing is reported, so the first events of a capture are never judged.
/// </summary>
internal sealed class NamespaceDetector(RuleRuntime rule, NamespaceSpec spec, int maxGroups) : Detector
{
    private const int MaxIdentitiesPerScope = 4096;
    private readonly LruTable<GroupKey, Scope> _scopes = new(maxGroups);

    /// <summary>The clients of one scope seen keeping to their namespace.</summary>
    private sealed class Scope : GroupState
    {
        public HashSet<string> Followers { get; } = new(StringComparer.Ordinal);
    }

    public override long Evicted => _scopes.Evicted;

    public override Observer Bind(BindContext context, RuleBinding binding) =>
        new Bound(this, binding, context.Reader(spec.Identity), context.Reader(spec.Resource), context.Readers(spec.Scope));

    private sealed class Bound(NamespaceDetector owner, RuleBinding binding, ValueReader identity, ValueReader resource, ValueReader[] scope) : Observer
    {
        public override void Observe(ProtocolEvent e, FieldValue[]? session) => owner.Observe(binding, identity, resource, scope, e, session);
    }

    /// <summary>True when one of the <c>/</c>-separated levels of <paramref name="resource"/> equals <paramref name="identity"/>.</summary>
    public static bool CarriesIdentity(string resource, string identity)
    {
        var span = resource.AsSpan();
        while (true)
        {
            var slash = span.IndexOf('/');
            var level = slash < 0 ? span : span[..slash];
            if (level.SequenceEqual(identity))
            {
                return true;
            }

            if (slash < 0)
            {
                return false;
            }

            span = span[(slash + 1)..];
        }
    }

    private void Observe(RuleBinding binding, ValueReader identityReader, ValueReader resourceReader, ValueReader[] scopeReaders, ProtocolEvent e, FieldValue[]? session)
    {
        // An empty client id (MQTT 3.1.1 §3.1.3.1: the broker assigns one) names no namespace.
        if (identityReader.Read(e, session).Text is not { Length: > 0 } identity ||
            resourceReader.Read(e, session).Text is not { } resource)
        {
            return;
        }

        var key = GroupKey.Read(scopeReaders, e, session);
        var scratch = FlowScratch.Peek(e.Flow);
        var scope = scratch is null ? _scopes.Get(key, touch: true) : scratch.Get(Index, _scopes, key);
        if (scope is null)
        {
            scope = new Scope();
            _scopes.Add(key, scope, out var handle);
            scratch?.Remember(Index, key, handle, scope);
        }

        var followers = scope.Followers;

        if (CarriesIdentity(resource, identity))
        {
            // A flow's client keeps to its namespace publish after publish: once its identity is in this scope's
            // set (sets only grow), the flow remembers it and skips the hash-set insert.
            if (scratch?.Note(Index) is string known && ReferenceEquals(known, identity))
            {
                return;
            }

            if (followers.Count < MaxIdentitiesPerScope)
            {
                followers.Add(identity);
            }

            scratch?.SetNote(Index, identity);
            return;
        }

        var self = followers.Contains(identity);
        var peers = followers.Count - (self ? 1 : 0);
        if (peers < spec.MinPeers)
        {
            return;
        }

        var trigger = Trigger.ForEvent(rule, e, session, binding.SeverityOf(e, session));
        trigger.Peers = peers;
        trigger.Extra.Add(new("secmon.namespace.peers", (long)peers));
        trigger.Extra.Add(new("secmon.namespace.own_seen", self));
        binding.Raise(trigger, e, session);
    }
}
