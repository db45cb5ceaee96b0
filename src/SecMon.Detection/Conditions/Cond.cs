using SecMon.Core.Events;
using SecMon.Detection.Model;

namespace SecMon.Detection.Conditions;

/// <summary>
/// A condition as written in a rule pack (validated, operands prepared). <see cref="Bind"/> turns it into a
/// <see cref="Predicate"/> for one event schema; fields the schema lacks read as missing and fold to constants.
/// </summary>
internal abstract class Cond
{
    /// <summary>Binds the condition to a schema.</summary>
    public abstract Predicate Bind(BindContext context);

    /// <summary>Adds every field the condition reads to <paramref name="into"/>.</summary>
    public abstract void CollectFields(ICollection<FieldRef> into);
}

/// <summary>The empty condition (no <c>where</c>): every event of the rule's types.</summary>
internal sealed class TrueCond : Cond
{
    public static TrueCond Instance { get; } = new();

    public override Predicate Bind(BindContext context) => ConstPredicate.True;

    public override void CollectFields(ICollection<FieldRef> into)
    {
    }
}

/// <summary><c>all</c> (and a mapping's entries): every part holds.</summary>
internal sealed class AllCond(IReadOnlyList<Cond> parts) : Cond
{
    public IReadOnlyList<Cond> Parts { get; } = parts;

    public override Predicate Bind(BindContext context)
    {
        var bound = new List<Predicate>(Parts.Count);
        foreach (var p in Parts)
        {
            var b = p.Bind(context);
            switch (b.Constant)
            {
                case false:
                    return ConstPredicate.False;
                case true:
                    continue;
                default:
                    bound.Add(b);
                    break;
            }
        }

        return bound.Count switch
        {
            0 => ConstPredicate.True,
            1 => bound[0],
            _ => new AndPredicate([.. bound]),
        };
    }

    public override void CollectFields(ICollection<FieldRef> into)
    {
        foreach (var p in Parts)
        {
            p.CollectFields(into);
        }
    }
}

/// <summary><c>any</c>: at least one part holds.</summary>
internal sealed class AnyCond(IReadOnlyList<Cond> parts) : Cond
{
    public override Predicate Bind(BindContext context)
    {
        var bound = new List<Predicate>(parts.Count);
        foreach (var p in parts)
        {
            var b = p.Bind(context);
            switch (b.Constant)
            {
                case true:
                    return ConstPredicate.True;
                case false:
                    continue;
                default:
                    bound.Add(b);
                    break;
            }
        }

        return bound.Count switch
        {
            0 => ConstPredicate.False,
            1 => bound[0],
            _ => new OrPredicate([.. bound]),
        };
    }

    public override void CollectFields(ICollection<FieldRef> into)
    {
        foreach (var p in parts)
        {
            p.CollectFields(into);
        }
    }
}

/// <summary><c>not</c>: the inner condition does not hold.</summary>
internal sealed class NotCond(Cond inner) : Cond
{
    public override Predicate Bind(BindContext context)
    {
        var b = inner.Bind(context);
        return b.Constant is { } c ? ConstPredicate.Of(!c) : new NotPredicate(b);
    }

    public override void CollectFields(ICollection<FieldRef> into) => inner.CollectFields(into);
}

/// <summary>A field and the operators applied to it.</summary>
internal sealed class FieldCond(FieldRef field, ValueTest test) : Cond
{
    public FieldRef Field { get; } = field;

    public override Predicate Bind(BindContext context)
    {
        var reader = context.Reader(Field);
        return reader.AlwaysMissing ? ConstPredicate.Of(test.Test(FieldValue.Missing)) : new FieldPredicate(reader, test);
    }

    public override void CollectFields(ICollection<FieldRef> into) => into.Add(Field);
}

/// <summary>A field compared with another field of the same event.</summary>
internal sealed class FieldCompareCond(FieldRef left, FieldCompareOp op, FieldRef right, bool ignoreCase) : Cond
{
    public override Predicate Bind(BindContext context)
    {
        var l = context.Reader(left);
        var r = context.Reader(right);
        return l.AlwaysMissing || r.AlwaysMissing ? ConstPredicate.False : new FieldComparePredicate(l, op, r, ignoreCase);
    }

    public override void CollectFields(ICollection<FieldRef> into)
    {
        into.Add(left);
        into.Add(right);
    }
}
