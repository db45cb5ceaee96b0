using System.Text;

namespace SecMon.Capture.Protocols.Telnet;

/// <summary>What a server line says about a login in progress.</summary>
internal enum ServerCue
{
    /// <summary>Nothing a login depends on.</summary>
    None,
    /// <summary>A user prompt (<c>login:</c>).</summary>
    UserPrompt,
    /// <summary>A password prompt (<c>Password:</c>).</summary>
    PasswordPrompt,
    /// <summary>A shell prompt (<c>$ </c>).</summary>
    ShellPrompt,
    /// <summary>A failure message (<c>Login incorrect</c>).</summary>
    Failure,
}

/// <summary>
/// The word lists of <see cref="TelnetOptions"/> compiled once per protocol into lower-case bytes, and the tests of a
/// server line against them: stateless, no allocation. A prompt is the end of the server's current, unfinished line
/// (the server waits for an answer there); a failure message is a finished line.
/// </summary>
internal sealed class TelnetText
{
    private readonly byte[][] _userPrompts;
    private readonly byte[][] _passwordPrompts;
    private readonly byte[][] _failures;
    private readonly byte[] _shellEndings;

    /// <summary>Compiles the lists of <paramref name="options"/>.</summary>
    public TelnetText(TelnetOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _userPrompts = Compile(options.UserPrompts);
        _passwordPrompts = Compile(options.PasswordPrompts);
        _failures = Compile(options.FailureMessages);
        _shellEndings = Encoding.ASCII.GetBytes(options.ShellPromptEndings ?? "");
    }

    /// <summary>What the server's unfinished line <paramref name="line"/> asks for: a password, a user name, or a command
    /// (a shell prompt), tested in that order on its end (trailing blanks ignored).</summary>
    public ServerCue Prompt(ReadOnlySpan<byte> line)
    {
        line = line.TrimEnd(" \t"u8);
        if (line.IsEmpty)
        {
            return ServerCue.None;
        }

        if (EndsWithAny(line, _passwordPrompts))
        {
            return ServerCue.PasswordPrompt;
        }

        if (EndsWithAny(line, _userPrompts))
        {
            return ServerCue.UserPrompt;
        }

        return _shellEndings.AsSpan().Contains(line[^1]) ? ServerCue.ShellPrompt : ServerCue.None;
    }

    /// <summary>True when the finished server line <paramref name="line"/> says a login failed (and is not a
    /// <c>Last failed login</c> notice).</summary>
    public bool IsFailure(ReadOnlySpan<byte> line)
    {
        if (line.IsEmpty || Contains(line, "last"u8))
        {
            return false;
        }

        foreach (var f in _failures)
        {
            if (Contains(line, f))
            {
                return true;
            }
        }

        return false;
    }

    private static byte[][] Compile(IReadOnlyList<string>? words) =>
        [.. (words ?? []).Where(w => !string.IsNullOrWhiteSpace(w)).Select(w => Encoding.ASCII.GetBytes(w.Trim().ToLowerInvariant()))];

    private static bool EndsWithAny(ReadOnlySpan<byte> line, byte[][] endings)
    {
        foreach (var e in endings)
        {
            if (line.Length >= e.Length && EqualsLower(line[^e.Length..], e))
            {
                return true;
            }
        }

        return false;
    }

    private static bool Contains(ReadOnlySpan<byte> line, ReadOnlySpan<byte> lowerWord)
    {
        if (lowerWord.IsEmpty || line.Length < lowerWord.Length)
        {
            return false;
        }

        var first = lowerWord[0];
        var upper = first is >= (byte)'a' and <= (byte)'z' ? (byte)(first - 32) : first;
        for (var i = line.IndexOfAny(first, upper); i >= 0 && i + lowerWord.Length <= line.Length;)
        {
            if (EqualsLower(line.Slice(i, lowerWord.Length), lowerWord))
            {
                return true;
            }

            var next = line[(i + 1)..].IndexOfAny(first, upper);
            i = next < 0 ? -1 : i + 1 + next;
        }

        return false;
    }

    private static bool EqualsLower(ReadOnlySpan<byte> text, ReadOnlySpan<byte> lower)
    {
        for (var i = 0; i < lower.Length; i++)
        {
            var b = text[i];
            if ((b is >= (byte)'A' and <= (byte)'Z' ? (byte)(b + 32) : b) != lower[i])
            {
                return false;
            }
        }

        return true;
    }
}
