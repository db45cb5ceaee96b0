using System.CommandLine;
using System.Runtime.InteropServices;
using SecMon.Cli;

// Ctrl+C / SIGTERM cancel the command's token and let it finish cleanly (flush events, print the summary,
// stop the server) with its own exit code; a second signal terminates at once.
using var stop = new CancellationTokenSource();
void OnSignal(PosixSignalContext context)
{
    if (!stop.IsCancellationRequested)
    {
        context.Cancel = true;
        stop.Cancel();
    }
}

using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
var configuration = new InvocationConfiguration { ProcessTerminationTimeout = null };
return await SecMonCli.InvokeAsync(args, configuration, stop.Token).ConfigureAwait(false);
