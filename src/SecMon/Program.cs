using SecMon.Cli;

return await SecMonCli.Build().Parse(args).InvokeAsync().ConfigureAwait(false);
