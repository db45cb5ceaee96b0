using SecMon.Cli;

namespace SecMon.Tests.Cli;

/// <summary>A command line builds only the command it names (start-up); the table that allows it is the whole tree.</summary>
public sealed class SecMonCliTests
{
    [Fact]
    public void Commands_EachName_IsTheNameOfTheCommandItBuilds()
    {
        foreach (var (name, create) in SecMonCli.Commands)
        {
            Assert.Equal(name, create().Name);
        }

        Assert.Equal(SecMonCli.Commands.Length, SecMonCli.Commands.Select(c => c.Name).Distinct(StringComparer.Ordinal).Count());
    }

    [Fact]
    public void Build_FirstArgumentNamesACommand_OnlyThatCommand()
    {
        var root = SecMonCli.Build(["findings", "search", "anonymous"]);

        Assert.Equal(["findings"], root.Subcommands.Select(c => c.Name));
        var whole = SecMonCli.Build([]).Subcommands.Single(c => c.Name == "findings");
        Assert.Equal(whole.Subcommands.Select(c => c.Name), root.Subcommands[0].Subcommands.Select(c => c.Name));
        Assert.Contains("search", root.Subcommands[0].Subcommands.Select(c => c.Name));
    }

    [Theory]
    [InlineData("")]
    [InlineData("--help")]
    [InlineData("nosuch x")]
    [InlineData("findngs search")]
    public void Build_NoCommandNamed_EveryCommand(string commandLine)
    {
        var root = SecMonCli.Build(commandLine.Split(' ', StringSplitOptions.RemoveEmptyEntries));

        Assert.Equal(SecMonCli.Commands.Select(c => c.Name), root.Subcommands.Select(c => c.Name));
    }
}
