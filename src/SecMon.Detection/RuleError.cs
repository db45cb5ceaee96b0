namespace SecMon.Detection;

/// <summary>
/// One problem in a rule pack, with its location. <see cref="ToString"/> gives the
/// <c>file:line:column: message</c> form that <c>secmon rules validate</c> prints and editors can jump to.
/// </summary>
/// <param name="File">The pack file (or directory) the problem is in.</param>
/// <param name="Line">1-based line, or 0 when the problem is about the whole file.</param>
/// <param name="Column">1-based column, or 0 when unknown.</param>
/// <param name="Message">What is wrong and what to do about it.</param>
public sealed record RuleError(string File, int Line, int Column, string Message)
{
    /// <inheritdoc />
    public override string ToString() =>
        Line > 0 ? $"{File}:{Line}:{Column}: {Message}" : $"{File}: {Message}";
}
