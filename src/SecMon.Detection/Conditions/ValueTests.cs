using System.Net;
using System.Text.RegularExpressions;
using SecMon.Core.Events;

namespace SecMon.Detection.Conditions;

/// <summary>
/// A test of one field value (an operator with its operands, prepared at load time). Every test but
/// <c>exists: false</c> is false on a missing value; on a list value a test holds when any element passes.
/// </summary>
internal abstract class ValueTest
{
    /// <summary>Tests the value.</summary>
    public abstract bool Test(in FieldValue v);
}

/// <summary><c>exists: true|false</c>.</summary>
internal sealed class ExistsTest(bool shouldExist) : ValueTest
{
    public override bool Test(in FieldValue v) => v.IsMissing != shouldExist;
}

/// <summary>Several operators on the same field, all of which must hold.</summary>
internal sealed class AllTests(ValueTest[] tests) : ValueTest
{
    public override bool Test(in FieldValue v)
    {
        foreach (var t in tests)
        {
            if (!t.Test(v))
            {
                return false;
            }
        }

        return true;
    }
}

/// <summary><c>ne</c> / <c>not_in</c>: the value is present and the inner test fails (for lists: no element passes).</summary>
internal sealed class PresentAndNotTest(ValueTest inner) : ValueTest
{
    public override bool Test(in FieldValue v) => !v.IsMissing && !inner.Test(v);
}

/// <summary>Base of tests on text (Text, Ip and each element of a StringList).</summary>
internal abstract class TextTest : ValueTest
{
    public sealed override bool Test(in FieldValue v)
    {
        if (v.IsMissing)
        {
            return false;
        }

        switch (v.Kind)
        {
            case FieldKind.Text:
            case FieldKind.Ip:
                return v.Text is { } t && Match(t);
            case FieldKind.StringList:
                foreach (var s in v.Strings!)
                {
                    if (Match(s))
                    {
                        return true;
                    }
                }

                return false;
            default:
                return false;
        }
    }

    protected abstract bool Match(string s);
}

/// <summary><c>eq</c> / <c>in</c> on text (IP operands are normalised at load time).</summary>
internal sealed class TextSetTest(IEnumerable<string> values, bool ignoreCase) : TextTest
{
    private readonly HashSet<string> _values = new(values, ignoreCase ? StringComparer.OrdinalIgnoreCase : StringComparer.Ordinal);

    protected override bool Match(string s) => _values.Contains(s);
}

/// <summary>The text operators that look for a part of the value.</summary>
internal enum AffixMode
{
    Prefix,
    Suffix,
    Contains,
}

/// <summary><c>prefix</c> / <c>suffix</c> / <c>contains</c>, with one or several operands (any may match).</summary>
internal sealed class AffixTest(AffixMode mode, string[] needles, bool ignoreCase) : TextTest
{
    private readonly StringComparison _cmp = ignoreCase ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal;

    protected override bool Match(string s)
    {
        foreach (var n in needles)
        {
            var hit = mode switch
            {
                AffixMode.Prefix => s.StartsWith(n, _cmp),
                AffixMode.Suffix => s.EndsWith(n, _cmp),
                _ => s.Contains(n, _cmp),
            };
            if (hit)
            {
                return true;
            }
        }

        return false;
    }
}

/// <summary>Counts regular-expression match timeouts of a rule set (a timed-out match counts as no match).</summary>
internal sealed class RegexGuard
{
    private long _timeouts;

    /// <summary>Matches that hit their timeout so far.</summary>
    public long Timeouts => Interlocked.Read(ref _timeouts);

    public void OnTimeout() => Interlocked.Increment(ref _timeouts);
}

/// <summary><c>regex</c> and <c>glob</c>: a regular expression compiled once at load time.</summary>
internal sealed class RegexTest(Regex regex, RegexGuard guard) : TextTest
{
    protected override bool Match(string s)
    {
        try
        {
            return regex.IsMatch(s);
        }
        catch (RegexMatchTimeoutException)
        {
            // Hostile input (a crafted topic) must not stall the pipeline: count it and move on.
            guard.OnTimeout();
            return false;
        }
    }
}

/// <summary><c>cidr</c>: the address lies in one of the networks.</summary>
internal sealed class CidrTest(IPNetwork[] networks) : TextTest
{
    // Events of one flow share their address strings, so a one-entry cache by reference saves most parses.
    private string? _lastText;
    private bool _lastResult;

    protected override bool Match(string s)
    {
        if (ReferenceEquals(s, _lastText))
        {
            return _lastResult;
        }

        var result = false;
        if (IPAddress.TryParse(s, out var address))
        {
            foreach (var n in networks)
            {
                if (n.Contains(address))
                {
                    result = true;
                    break;
                }
            }
        }

        _lastText = s;
        _lastResult = result;
        return result;
    }
}

/// <summary><c>eq</c> / <c>in</c> on numbers (each element of a NumberList).</summary>
internal sealed class NumberSetTest(IEnumerable<long> values) : ValueTest
{
    private readonly HashSet<long> _values = [.. values];

    public override bool Test(in FieldValue v)
    {
        if (v.IsMissing)
        {
            return false;
        }

        if (v.Kind == FieldKind.Number)
        {
            return _values.Contains(v.Number);
        }

        if (v.Kind == FieldKind.NumberList)
        {
            foreach (var n in v.Numbers!)
            {
                if (_values.Contains(n))
                {
                    return true;
                }
            }
        }

        return false;
    }
}

/// <summary>Numeric comparison operators.</summary>
internal enum CompareOp
{
    Lt,
    Lte,
    Gt,
    Gte,
}

/// <summary><c>lt</c> / <c>lte</c> / <c>gt</c> / <c>gte</c> against a constant.</summary>
internal sealed class NumberCompareTest(CompareOp op, long operand) : ValueTest
{
    public override bool Test(in FieldValue v)
    {
        if (v.IsMissing)
        {
            return false;
        }

        if (v.Kind == FieldKind.Number)
        {
            return Compare(v.Number);
        }

        if (v.Kind == FieldKind.NumberList)
        {
            foreach (var n in v.Numbers!)
            {
                if (Compare(n))
                {
                    return true;
                }
            }
        }

        return false;
    }

    private bool Compare(long x) => op switch
    {
        CompareOp.Lt => x < operand,
        CompareOp.Lte => x <= operand,
        CompareOp.Gt => x > operand,
        _ => x >= operand,
    };
}

/// <summary><c>eq</c> on a boolean.</summary>
internal sealed class BooleanTest(bool expected) : ValueTest
{
    public override bool Test(in FieldValue v) => !v.IsMissing && v.Kind == FieldKind.Boolean && v.Boolean == expected;
}
