using System.CommandLine;
using System.Runtime.InteropServices;
using SecMon.Cli;

// Ctrl+C / SIGTERM cancel the command's token and let it finish cleanly (flush events, print the summary,
// stop the server) with its own exit code; a second signal ends the process at once with 130, after a line saying what
// was not flushed (SecondSignal; spools stay on disk for the next start).
using var stop = new CancellationTokenSource();
void OnSignal(PosixSignalContext context)
{
    context.Cancel = true;
    if (!stop.IsCancellationRequested)
    {
        stop.Cancel();
        return;
    }

    Console.Error.WriteLine(SecMon.Ops.SecondSignal.Line());
    Console.Error.Flush();
    Environment.Exit(ExitCodes.Interrupted);
}

using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
var configuration = new InvocationConfiguration { ProcessTerminationTimeout = null };
// Not 'await': an async Main's state machine has no precompiled code (its builder is generic over this assembly's
// type), and a synchronous command returns a completed task (SecMonCli.InvokeAsync).
return SecMonCli.InvokeAsync(args, configuration, stop.Token).GetAwaiter().GetResult();
