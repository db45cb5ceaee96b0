using SecMon.Findings.Store;

namespace SecMon.Findings.Tests.Store;

public sealed class FullTextQueryTests
{
    [Theory]
    [InlineData("anonymous", "(\"anonymous\")")]
    [InlineData("  two   words ", "(\"two\" AND \"words\")")]
    [InlineData("sensor-17", "(\"sensor-17\")")]
    [InlineData("guess*", "(\"guess\" *)")]
    [InlineData("\"exact phrase\"", "(\"exact phrase\")")]
    [InlineData("\"phra\"*", "(\"phra\" *)")]
    [InlineData("\"unterminated phrase", "(\"unterminated phrase\")")]
    [InlineData("a -b -c", "(\"a\") NOT \"b\" NOT \"c\"")]
    [InlineData("say\"what", "(\"say\"\"what\")")]
    [InlineData("AND OR NOT", "(\"AND\" AND \"OR\" AND \"NOT\")")]
    [InlineData("x / + #", "(\"x\")")]
    [InlineData("10.0.0.1", "(\"10.0.0.1\")")]
    public void TryTranslate_Valid_QuotesEveryTerm(string text, string expected)
    {
        Assert.True(FullTextQuery.TryTranslate(text, out var match, out var error), error);
        Assert.Equal(expected, match);
    }

    [Theory]
    [InlineData("", "no words")]
    [InlineData("/ + #", "no words")]
    [InlineData("-only -exclusions", "not only -exclusions")]
    public void TryTranslate_NothingToLookFor_Error(string text, string expected)
    {
        Assert.False(FullTextQuery.TryTranslate(text, out _, out var error));
        Assert.Contains(expected, error, StringComparison.Ordinal);
    }

    [Fact]
    public void TryTranslate_TooLongOrTooManyWords_Error()
    {
        Assert.False(FullTextQuery.TryTranslate(new string('a', FullTextQuery.MaxLength + 1), out _, out _));
        Assert.False(FullTextQuery.TryTranslate(string.Join(' ', Enumerable.Range(0, FullTextQuery.MaxTerms + 1).Select(i => $"w{i}")), out _, out _));
        Assert.True(FullTextQuery.TryTranslate(string.Join(' ', Enumerable.Range(0, FullTextQuery.MaxTerms).Select(i => $"w{i}")), out _, out _));
    }
}
