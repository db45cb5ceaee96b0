using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;

namespace SecMon.Cli;

/// <summary>
/// What is wrong with a command line, in words: an unknown command or option (with the closest real one), a value
/// that is not what the option takes ("--limit takes a whole number, e.g. 50", never a .NET type name), a missing
/// command, option or argument. Read from the structure of System.CommandLine's parse result, not from its
/// (localized) messages; <see cref="SecMonCli.InvokeAsync"/> prints them on stderr and exits 64.
/// </summary>
internal static class UsageErrors
{
    /// <summary>The usage problems of <paramref name="parse"/>, one line each; empty when the command line is usable
    /// (or asks for help or the version, which win over any error).</summary>
    public static IReadOnlyList<string> Find(ParseResult parse)
    {
        ArgumentNullException.ThrowIfNull(parse);
        if (parse.Action is { ClearsParseErrors: true })
        {
            return [];
        }

        var problems = new List<string>();
        var command = parse.CommandResult;
        // A token that looks like an option but landed in a command's argument (System.CommandLine takes '-r' as a
        // FILE): an unknown option, unless it came after '--' (POSIX: everything after '--' is an operand).
        var doubleDash = IndexOfDoubleDash(parse);
        foreach (var argument in command.Children.OfType<ArgumentResult>())
        {
            foreach (var token in argument.Tokens)
            {
                if (LooksLikeOption(token.Value) && IndexOf(parse, token) is var i && (doubleDash < 0 || i < doubleDash))
                {
                    problems.Add(UnknownOption(parse, token.Value, argument.Argument));
                }
            }
        }

        // The first unknown command is the problem (what follows it were its arguments); an unknown option's value
        // comes back as an unexpected argument, so those wait until the options are right.
        var unmatched = WantsCommandList(parse) ? parse.UnmatchedTokens.Take(1) : parse.UnmatchedTokens;
        var unknownOptions = problems.Count > 0 || parse.UnmatchedTokens.Any(LooksLikeOption);
        foreach (var token in unmatched.Where(t => LooksLikeOption(t) || !unknownOptions))
        {
            problems.Add(Unmatched(parse, token));
        }

        foreach (var error in parse.Errors)
        {
            if (Describe(parse, error) is { } problem)
            {
                problems.Add(problem);
            }
        }

        return problems.Distinct(StringComparer.Ordinal).ToList();
    }

    /// <summary>True when the command that was reached needs a subcommand and none (or an unknown one) was given:
    /// its help, the list of commands, is the most useful answer.</summary>
    public static bool WantsCommandList(ParseResult parse) =>
        parse.CommandResult.Command is { Subcommands.Count: > 0, Action: null };

    /// <summary>How the user calls the command that was reached: <c>secmon findings search</c>.</summary>
    public static string CommandPath(ParseResult parse)
    {
        var names = new List<string>();
        for (SymbolResult? r = parse.CommandResult; r is CommandResult c; r = c.Parent)
        {
            names.Add(c.Parent is null ? "secmon" : c.Command.Name);
        }

        names.Reverse();
        return string.Join(' ', names);
    }

    /// <summary>What a value of <paramref name="type"/> is, in words, with an example; null for types whose options
    /// explain themselves (custom parsers, strings).</summary>
    public static string? Expected(Type type, object? example = null)
    {
        var t = Nullable.GetUnderlyingType(type) ?? type;
        if (t.IsEnum)
        {
            return "one of " + string.Join(", ", Enum.GetNames(t).Select(n => n.ToLowerInvariant()));
        }

        var e = example is null ? "" : ", e.g. " + Convert.ToString(example, CultureInfo.InvariantCulture);
        return Type.GetTypeCode(t) switch
        {
            TypeCode.Int32 or TypeCode.Int64 or TypeCode.Int16 => "a whole number" + e,
            TypeCode.UInt32 or TypeCode.UInt64 or TypeCode.UInt16 or TypeCode.Byte => "a whole number of 0 or more" + e,
            TypeCode.Double or TypeCode.Single or TypeCode.Decimal => "a number" + e,
            TypeCode.Boolean => "no value (it is a switch), or true or false",
            _ => null,
        };
    }

    private static string? Describe(ParseResult parse, ParseError error)
    {
        switch (error.SymbolResult)
        {
            case OptionResult option:
                return DescribeOption(parse, option, error);
            case ArgumentResult { Parent: OptionResult option }:
                return DescribeOption(parse, option, error);
            case ArgumentResult argument:
                return DescribeArgument(parse, argument, error);
            default:
                // Command-level errors: unknown tokens (listed above) and a missing subcommand.
                if (parse.UnmatchedTokens.Count > 0)
                {
                    return null;
                }

                if (WantsCommandList(parse))
                {
                    var command = parse.CommandResult.Command;
                    return $"{CommandPath(parse)} needs a command: {string.Join(", ", Visible(command.Subcommands).Select(c => c.Name))}";
                }

                return error.Message;
        }
    }

    private static string DescribeOption(ParseResult parse, OptionResult result, ParseError error)
    {
        var option = result.Option;
        var name = option.Name;
        var valueName = option.HelpName ?? "VALUE";
        if (result.Implicit && result.IdentifierToken is null && option.Required)
        {
            var alias = option.Aliases.FirstOrDefault();
            return $"{CommandPath(parse)} needs {name} {valueName}" + (alias is null ? "" : $" (or {alias} {valueName})");
        }

        var expected = Expected(option.ValueType, option.HasDefaultValue ? option.GetDefaultValue() : null);
        if (result.Tokens.Count == 0)
        {
            return $"{name} needs a value" + (expected is null ? $" ({valueName})" : ": " + expected);
        }

        if (expected is not null && result.Tokens.FirstOrDefault(t => !Converts(t.Value, option.ValueType)) is { } bad)
        {
            return OutOfRange(bad.Value, option.ValueType) is { } range
                ? $"{name} takes a whole number from {range}, not '{bad.Value}'"
                : $"{name} takes {expected}, not '{bad.Value}'";
        }

        if (result.Tokens.Count > 1 && option.ValueType != typeof(string[]) && !option.ValueType.IsArray)
        {
            return $"{name} takes one value, and was given {result.Tokens.Count}: {string.Join(", ", result.Tokens.Select(t => $"'{t.Value}'"))}";
        }

        // A custom parser's own words (--duration, --learning), already naming the option.
        return error.Message;
    }

    private static string DescribeArgument(ParseResult parse, ArgumentResult result, ParseError error)
    {
        var argument = result.Argument;
        var name = argument.HelpName ?? argument.Name;
        if (result.Tokens.Count == 0)
        {
            return argument.Arity.MaximumNumberOfValues > 1
                ? $"{CommandPath(parse)} needs at least one {name}"
                : $"{CommandPath(parse)} needs {name}";
        }

        var expected = Expected(argument.ValueType);
        if (expected is not null && result.Tokens.FirstOrDefault(t => !Converts(t.Value, argument.ValueType)) is { } bad)
        {
            return OutOfRange(bad.Value, argument.ValueType) is { } range
                ? $"{name} takes a whole number from {range}, not '{bad.Value}'"
                : $"{name} takes {expected}, not '{bad.Value}'";
        }

        return error.Message;
    }

    // A token the command did not take: an unknown option or command, or one argument too many.
    private static string Unmatched(ParseResult parse, string token)
    {
        if (LooksLikeOption(token))
        {
            return UnknownOption(parse, token, null);
        }

        var command = parse.CommandResult.Command;
        if (command.Subcommands.Count > 0 && command.Action is null)
        {
            var names = Visible(command.Subcommands).Select(c => c.Name).ToList();
            var path = CommandPath(parse);
            var close = Closest(token, names);
            return $"'{token}' is not a {path} command" + (close is null ? "" : $"; did you mean '{path} {close}'?") +
                $" (the commands: {string.Join(", ", names)})";
        }

        var single = command.Arguments.FirstOrDefault(a => a.Arity.MaximumNumberOfValues == 1);
        return single is null
            ? $"{CommandPath(parse)} takes no argument '{token}'"
            : $"unexpected '{token}': {CommandPath(parse)} takes one {single.HelpName ?? single.Name} (quote a value with spaces: \"a b\")";
    }

    private static string UnknownOption(ParseResult parse, string token, Argument? landedIn)
    {
        var name = token.Split('=', 2)[0];
        var path = CommandPath(parse);
        var command = parse.CommandResult.Command;

        // tcpdump habits: 'secmon analyze -r x.pcap' means the file itself.
        if (landedIn is not null && command.Arguments.Any(a => a.Name == "FILE") && name is "-r" or "--read" or "-f" or "--file")
        {
            var file = NextArgument(parse, token) ?? "capture.pcap";
            return $"unknown option '{name}': capture files are given without an option ({path} {file})";
        }

        if (name == "-r" && command.Arguments.All(a => a.Name != "FILE"))
        {
            return $"unknown option '{name}': {path} reads no files; capture files are read by 'secmon analyze FILE...'";
        }

        var names = OptionNames(parse.CommandResult).ToList();
        var close = Closest(name, names);
        var message = $"unknown option '{name}'";
        if (close is not null)
        {
            return message + $"; did you mean {close}?";
        }

        return landedIn is null
            ? message
            : message + $" (a {landedIn.HelpName ?? landedIn.Name} that starts with '-' goes after '--': {path} -- {token})";
    }

    // Every option the reached command accepts: its own and the recursive ones of its parents (--help).
    private static IEnumerable<string> OptionNames(CommandResult result)
    {
        for (SymbolResult? r = result; r is CommandResult c; r = c.Parent)
        {
            foreach (var option in c.Command.Options.Where(o => !o.Hidden && (ReferenceEquals(c, result) || o.Recursive)))
            {
                yield return option.Name;
                foreach (var alias in option.Aliases)
                {
                    yield return alias;
                }
            }
        }
    }

    private static IEnumerable<Command> Visible(IEnumerable<Command> commands) => commands.Where(c => !c.Hidden);

    /// <summary>The candidate closest to <paramref name="typed"/>: a short option's long form ('-l' for '--limit'),
    /// a unique completion of a prefix, or the nearest by edit distance (transpositions count once).</summary>
    internal static string? Closest(string typed, IReadOnlyCollection<string> candidates)
    {
        var bare = typed.TrimStart('-');
        if (bare.Length == 0)
        {
            return null;
        }

        if (typed.Length == 2 && typed[0] == '-' && typed[1] != '-')
        {
            var longForms = candidates.Where(c => c.StartsWith("--", StringComparison.Ordinal) && c.Length > 2 && c[2] == bare[0]).ToList();
            return longForms.Count == 1 ? longForms[0] : null;
        }

        var prefixed = candidates.Where(c => bare.Length >= 3 && c.TrimStart('-').StartsWith(bare, StringComparison.Ordinal)).ToList();
        if (prefixed.Count == 1)
        {
            return prefixed[0];
        }

        var limit = bare.Length >= 5 ? 2 : 1;
        var best = candidates
            .Select(c => (Name: c, Distance: EditDistance(bare, c.TrimStart('-'))))
            .Where(x => x.Distance <= limit)
            .OrderBy(x => x.Distance)
            .ToList();
        return best.Count > 0 && (best.Count == 1 || best[0].Distance < best[1].Distance) ? best[0].Name : null;
    }

    // Optimal string alignment distance: insertions, deletions, substitutions and adjacent transpositions.
    internal static int EditDistance(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (var i = 0; i <= a.Length; i++)
        {
            d[i, 0] = i;
        }

        for (var j = 0; j <= b.Length; j++)
        {
            d[0, j] = j;
        }

        for (var i = 1; i <= a.Length; i++)
        {
            for (var j = 1; j <= b.Length; j++)
            {
                var cost = a[i - 1] == b[j - 1] ? 0 : 1;
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + cost);
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                {
                    d[i, j] = Math.Min(d[i, j], d[i - 2, j - 2] + 1);
                }
            }
        }

        return d[a.Length, b.Length];
    }

    // The argument token after the one given (what '-r' was meant to name).
    private static string? NextArgument(ParseResult parse, string token)
    {
        for (var i = 0; i + 1 < parse.Tokens.Count; i++)
        {
            if (parse.Tokens[i].Value == token && parse.Tokens[i + 1].Type == TokenType.Argument && !LooksLikeOption(parse.Tokens[i + 1].Value))
            {
                return parse.Tokens[i + 1].Value;
            }
        }

        return null;
    }

    private static bool LooksLikeOption(string token) => token.Length > 1 && token[0] == '-';

    private static int IndexOfDoubleDash(ParseResult parse)
    {
        for (var i = 0; i < parse.Tokens.Count; i++)
        {
            if (parse.Tokens[i].Type == TokenType.DoubleDash)
            {
                return i;
            }
        }

        return -1;
    }

    private static int IndexOf(ParseResult parse, Token token)
    {
        for (var i = 0; i < parse.Tokens.Count; i++)
        {
            if (ReferenceEquals(parse.Tokens[i], token))
            {
                return i;
            }
        }

        return -1;
    }

    // "0 to 2147483647" when text is a whole number too large (or too small) for an integer type; null otherwise.
    private static string? OutOfRange(string text, Type type)
    {
        var t = Nullable.GetUnderlyingType(type) ?? type;
        var digits = text.StartsWith('-') ? text.AsSpan(1) : text.AsSpan();
        if (t.IsEnum || digits.IsEmpty || digits.ContainsAnyExceptInRange('0', '9'))
        {
            return null;
        }

        var inv = CultureInfo.InvariantCulture;
        return Type.GetTypeCode(t) switch
        {
            TypeCode.Int32 => string.Create(inv, $"{int.MinValue} to {int.MaxValue}"),
            TypeCode.Int64 => string.Create(inv, $"{long.MinValue} to {long.MaxValue}"),
            TypeCode.Int16 => string.Create(inv, $"{short.MinValue} to {short.MaxValue}"),
            TypeCode.UInt32 => string.Create(inv, $"0 to {uint.MaxValue}"),
            TypeCode.UInt64 => string.Create(inv, $"0 to {ulong.MaxValue}"),
            TypeCode.UInt16 => string.Create(inv, $"0 to {ushort.MaxValue}"),
            TypeCode.Byte => "0 to 255",
            _ => null,
        };
    }

    private static bool Converts(string text, Type type)
    {
        var t = Nullable.GetUnderlyingType(type) ?? type;
        var inv = CultureInfo.InvariantCulture;
        if (t.IsEnum)
        {
            return Enum.TryParse(t, text, ignoreCase: true, out _);
        }

        return Type.GetTypeCode(t) switch
        {
            TypeCode.Int32 => int.TryParse(text, NumberStyles.Integer, inv, out _),
            TypeCode.Int64 => long.TryParse(text, NumberStyles.Integer, inv, out _),
            TypeCode.Int16 => short.TryParse(text, NumberStyles.Integer, inv, out _),
            TypeCode.UInt32 => uint.TryParse(text, NumberStyles.Integer, inv, out _),
            TypeCode.UInt64 => ulong.TryParse(text, NumberStyles.Integer, inv, out _),
            TypeCode.UInt16 => ushort.TryParse(text, NumberStyles.Integer, inv, out _),
            TypeCode.Byte => byte.TryParse(text, NumberStyles.Integer, inv, out _),
            TypeCode.Double or TypeCode.Single or TypeCode.Decimal => double.TryParse(text, NumberStyles.Float, inv, out _),
            TypeCode.Boolean => bool.TryParse(text, out _),
            _ => true,
        };
    }
}
