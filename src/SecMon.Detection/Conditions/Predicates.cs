using SecMon.Core.Events;

namespace SecMon.Detection.Conditions;

/// <summary>A condition bound to one event schema: evaluated per event without name lookups.</summary>
internal abstract class Predicate
{
    /// <summary>Evaluates the condition on <paramref name="e"/> with the flow's joined values.</summary>
    public abstract bool Eval(ProtocolEvent e, FieldValue[]? session);

    /// <summary>The constant value, when the predicate does not depend on the event.</summary>
    public virtual bool? Constant => null;
}

/// <summary>Always true or always false (an empty condition, or a field the schema lacks).</summary>
internal sealed class ConstPredicate : Predicate
{
    private readonly bool _value;

    private ConstPredicate(bool value) => _value = value;

    public static ConstPredicate True { get; } = new(true);

    public static ConstPredicate False { get; } = new(false);

    public static ConstPredicate Of(bool value) => value ? True : False;

    public override bool Eval(ProtocolEvent e, FieldValue[]? session) => _value;

    public override bool? Constant => _value;
}

/// <summary>Every part holds.</summary>
internal sealed class AndPredicate(Predicate[] parts) : Predicate
{
    public override bool Eval(ProtocolEvent e, FieldValue[]? session)
    {
        foreach (var p in parts)
        {
            if (!p.Eval(e, session))
            {
                return false;
            }
        }

        return true;
    }
}

/// <summary>At least one part holds.</summary>
internal sealed class OrPredicate(Predicate[] parts) : Predicate
{
    public override bool Eval(ProtocolEvent e, FieldValue[]? session)
    {
        foreach (var p in parts)
        {
            if (p.Eval(e, session))
            {
                return true;
            }
        }

        return false;
    }
}

/// <summary>The inner condition does not hold.</summary>
internal sealed class NotPredicate(Predicate inner) : Predicate
{
    public override bool Eval(ProtocolEvent e, FieldValue[]? session) => !inner.Eval(e, session);
}

/// <summary>A test of one field.</summary>
internal sealed class FieldPredicate(ValueReader reader, ValueTest test) : Predicate
{
    public override bool Eval(ProtocolEvent e, FieldValue[]? session) => test.Test(reader.Read(e, session));
}

/// <summary>Operators comparing two fields of the same event.</summary>
internal enum FieldCompareOp
{
    Eq,
    Ne,
    Prefix,
    Suffix,
    Contains,
    Lt,
    Lte,
    Gt,
    Gte,
}

/// <summary>A comparison of a field with another field (<c>mqtt.topic: {contains: {field: mqtt.client_id}}</c>).</summary>
internal sealed class FieldComparePredicate(ValueReader left, FieldCompareOp op, ValueReader right, bool ignoreCase) : Predicate
{
    private readonly StringComparison _cmp = ignoreCase ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal;

    public override bool Eval(ProtocolEvent e, FieldValue[]? session)
    {
        var a = left.Read(e, session);
        var b = right.Read(e, session);
        if (a.IsMissing || b.IsMissing)
        {
            return false;
        }

        if (a.Kind is FieldKind.Number or FieldKind.Boolean && b.Kind is FieldKind.Number or FieldKind.Boolean)
        {
            return op switch
            {
                FieldCompareOp.Eq => a.Number == b.Number,
                FieldCompareOp.Ne => a.Number != b.Number,
                FieldCompareOp.Lt => a.Number < b.Number,
                FieldCompareOp.Lte => a.Number <= b.Number,
                FieldCompareOp.Gt => a.Number > b.Number,
                FieldCompareOp.Gte => a.Number >= b.Number,
                _ => false,
            };
        }

        if (b.Text is not { } needle)
        {
            return false;
        }

        if (a.Kind == FieldKind.StringList)
        {
            var any = false;
            foreach (var s in a.Strings!)
            {
                if (TextOp(s, needle))
                {
                    any = true;
                    break;
                }
            }

            return op == FieldCompareOp.Ne ? !any : any;
        }

        return a.Text is { } text && (op == FieldCompareOp.Ne ? !string.Equals(text, needle, _cmp) : TextOp(text, needle));
    }

    private bool TextOp(string s, string needle) => op switch
    {
        FieldCompareOp.Eq or FieldCompareOp.Ne => string.Equals(s, needle, _cmp),
        FieldCompareOp.Prefix => s.StartsWith(needle, _cmp),
        FieldCompareOp.Suffix => s.EndsWith(needle, _cmp),
        FieldCompareOp.Contains => s.Contains(needle, _cmp),
        _ => false,
    };
}
