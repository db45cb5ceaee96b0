using SecMon.Core.Configuration;

namespace SecMon.Core.Findings;

/// <summary>
/// Makes the finding outputs of one kind from its key in the configuration file (<c>outputs.KEY</c>). The host
/// keeps one list of these (the output catalogue); adding an output is a folder with its sink and its factory, and
/// one line in that list.
/// </summary>
public interface IFindingOutputFactory
{
    /// <summary>The key under <c>outputs:</c> (<c>elasticsearch</c>, <c>webhooks</c>, <c>mqtt</c>, <c>log</c>).</summary>
    string Key { get; }

    /// <summary>Reads <c>outputs.KEY</c> from <paramref name="outputs"/> (<see cref="ConfigSection.Section"/> for one
    /// mapping, <see cref="ConfigSection.Sections"/> for a list such as <c>webhooks</c>), binds it to the output's
    /// options (errors recorded in <see cref="ConfigSection.Errors"/>; <see cref="ConfigSection.Finish"/> called on
    /// each section read, so unknown keys are reported) and returns the sinks: none when the key is absent, the
    /// output is disabled (<c>enabled: false</c>) or its configuration has errors. Must not connect or touch the
    /// network: <c>secmon config check</c> calls it too.</summary>
    IReadOnlyList<IFindingSink> Create(ConfigSection outputs, OutputContext context);
}

/// <summary>What an output may need from the host besides its own configuration.</summary>
/// <param name="DataDirectory">The data directory (an output's own state goes under <c>DATA/outputs/NAME/</c>;
/// the host keeps the spool in <c>DATA/spool/NAME/</c>).</param>
/// <param name="Time">The clock (tests control it).</param>
public sealed record OutputContext(string DataDirectory, TimeProvider Time);
