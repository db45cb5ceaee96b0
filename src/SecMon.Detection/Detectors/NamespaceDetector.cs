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
/// A client that itself kept to its namespace (<c>devices/sensor-a/...</c>) and then acts in another identity's
/// namespace under the same prefix (<c>devices/pump-1/...</c>) is reported however few other clients are visible: its
/// own history shows the convention, and the others' sessions may be encrypted. Once it has acted outside its
/// namespace anywhere else (<c>alerts/fire</c>), only the peers' convention judges it.
/// </summary>
internal sealed class NamespaceDetector(RuleRuntime rule, NamespaceSpec spec, int maxGroups) : Detector
{
    private const int MaxIdentitiesPerScope = 4096;
    private readonly LruTable<GroupKey, Scope> _scopes = new(maxGroups);

    /// <summary>The clients of one scope seen keeping to their namespace.</summary>
    private sealed class Scope : GroupState
    {
        public HashSet<string> Followers { get; } = new(StringComparer.Ordinal);

        /// <summary>Per follower: the levels before its identity in the first resource that carried it
        /// (<c>devices</c> for <c>devices/sensor-a/temp</c>), and whether it has acted outside its namespace elsewhere
        /// than in another identity's under that prefix.</summary>
        public Dictionary<string, OwnNamespace> Owners { get; } = new(StringComparer.Ordinal);
    }

    private sealed class OwnNamespace(string prefix)
    {
        public string Prefix { get; } = prefix;

        public bool Strayed { get; set; }
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

    /// <summary>The levels of <paramref name="resource"/> before the first level equal to <paramref name="identity"/>
    /// (empty when it is the first level).</summary>
    public static string PrefixOf(string resource, string identity)
    {
        var levels = resource.Split('/');
        var k = Array.IndexOf(levels, identity);
        return k <= 0 ? "" : string.Join('/', levels, 0, k);
    }

    /// <summary>True when <paramref name="resource"/> is <c>prefix/&lt;another identity&gt;[/...]</c>: the same non-empty
    /// prefix as the client's own namespace, then a level that is not its identity (an empty prefix would make every
    /// resource another's namespace, so it judges nothing).</summary>
    public static bool InAnotherNamespace(string resource, string prefix, string identity)
    {
        if (prefix.Length == 0 || resource.Length <= prefix.Length + 1 ||
            !resource.StartsWith(prefix, StringComparison.Ordinal) || resource[prefix.Length] != '/')
        {
            return false;
        }

        var rest = resource.AsSpan(prefix.Length + 1);
        var slash = rest.IndexOf('/');
        var level = slash < 0 ? rest : rest[..slash];
        return level.Length > 0 && !level.SequenceEqual(identity) && level is not "+" and not "#";
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

            if (followers.Count < MaxIdentitiesPerScope && followers.Add(identity))
            {
                scope.Owners[identity] = new OwnNamespace(PrefixOf(resource, identity));
            }

            scratch?.SetNote(Index, identity);
            return;
        }

        var self = followers.Contains(identity);
        var peers = followers.Count - (self ? 1 : 0);
        if (peers < spec.MinPeers)
        {
            // Fewer peers than the convention needs: the client's own history may still show it.
            if (!self || !scope.Owners.TryGetValue(identity, out var own) || own.Strayed)
            {
                return;
            }

            if (!InAnotherNamespace(resource, own.Prefix, identity))
            {
                own.Strayed = true;
                return;
            }
        }

        var trigger = Trigger.ForEvent(rule, e, session, binding.SeverityOf(e, session));
        trigger.Peers = peers;
        trigger.Extra.Add(new("secmon.namespace.peers", (long)peers));
        trigger.Extra.Add(new("secmon.namespace.own_seen", self));
        binding.Raise(trigger, e, session);
    }
}
