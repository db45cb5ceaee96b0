using System.Globalization;
using SecMon.Fuzz;
using SharpFuzz;

// The fuzz harness (README.md beside this file). Exit codes as secmon's: 64 usage, 66 cannot open, 73 cannot write.
const string Usage = """
    usage: SecMon.Fuzz list
           SecMon.Fuzz seeds OUTDIR [CAPTURE.pcap...]   seed inputs per target (default: the protocols' samples)
           SecMon.Fuzz run TARGET FILE...               each input once, in-process (reproduce a crash)
           SecMon.Fuzz afl TARGET                       under afl-fuzz, on instrumented assemblies (run.sh)
           SecMon.Fuzz libfuzzer TARGET                 under libfuzzer-dotnet
    """;

if (args.Length == 0)
{
    Console.Error.WriteLine(Usage);
    return 64;
}

switch (args[0])
{
    case "list" when args.Length == 1:
        foreach (var name in FuzzTargets.Names)
        {
            Console.WriteLine(name);
        }

        return 0;

    case "seeds" when args.Length >= 2:
        {
            IReadOnlyList<string> files = args.Length > 2 ? args[2..] : [];
            if (files.Count == 0)
            {
                var root = PcapSeeds.FindSamplesRoot(AppContext.BaseDirectory) ?? PcapSeeds.FindSamplesRoot(Environment.CurrentDirectory);
                if (root is null)
                {
                    Console.Error.WriteLine("SecMon.Fuzz: no tests/SecMon.Capture.Tests/Protocols above this directory; name the captures");
                    return 66;
                }

                files = PcapSeeds.SampleFiles(root);
            }

            Dictionary<string, List<byte[]>> seeds;
            try
            {
                seeds = PcapSeeds.FromCaptures(files);
            }
            catch (IOException e)
            {
                Console.Error.WriteLine($"SecMon.Fuzz: {e.Message}");
                return 66;
            }

            try
            {
                foreach (var name in FuzzTargets.Names)
                {
                    var dir = Path.Combine(args[1], name);
                    Directory.CreateDirectory(dir);
                    var list = seeds.GetValueOrDefault(name) ?? [];
                    // Every target gets at least one input, even without a sample: AFL refuses an empty corpus.
                    if (list.Count == 0)
                    {
                        list.Add([0, 0, 1, 0]);
                    }

                    for (var i = 0; i < list.Count; i++)
                    {
                        File.WriteAllBytes(Path.Combine(dir, string.Create(CultureInfo.InvariantCulture, $"seed-{i:D3}.bin")), list[i]);
                    }

                    Console.WriteLine($"{name}: {list.Count} seeds, {list.Sum(s => s.Length)} bytes");
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                Console.Error.WriteLine($"SecMon.Fuzz: {e.Message}");
                return 73;
            }

            return 0;
        }

    case "run" when args.Length >= 3:
        {
            if (FuzzTargets.Find(args[1]) is not { } protocol)
            {
                return UnknownTarget(args[1]);
            }

            foreach (var file in args[2..])
            {
                byte[] input;
                try
                {
                    input = File.ReadAllBytes(file);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    Console.Error.WriteLine($"SecMon.Fuzz: {e.Message}");
                    return 66;
                }

                // An exception leaves here with its stack trace: that is the report.
                var r = FuzzTargets.Run(protocol, input);
                Console.WriteLine($"{file}: {r.Records} records, {r.Events} events, {r.Malformed} malformed, {r.Diagnostics} diagnostics");
            }

            return 0;
        }

    // Instrumented code runs only inside Fuzzer.*.Run, which maps AFL's coverage map first: nothing of SecMon.Capture
    // (not even the catalogue, to check the name) may run before. run.sh checks the name with the plain build.
    case "afl" when args.Length == 2:
        {
            var name = args[1];
            // Out of process: a stack overflow in a parser is a crash AFL records, not the end of the fork server.
            Fuzzer.OutOfProcess.Run(stream =>
            {
                using var buffer = new MemoryStream();
                stream.CopyTo(buffer);
                FuzzTargets.Run(Target(name), buffer.GetBuffer().AsSpan(0, (int)buffer.Length));
            });
            return 0;
        }

    case "libfuzzer" when args.Length == 2:
        {
            var name = args[1];
            Fuzzer.LibFuzzer.Run(span => FuzzTargets.Run(Target(name), span));
            return 0;
        }

    default:
        Console.Error.WriteLine(Usage);
        return 64;
}

static SecMon.Capture.Protocols.IProtocol Target(string name) =>
    FuzzTargets.Find(name) ?? throw new ArgumentException($"no target '{name}'", nameof(name));

static int UnknownTarget(string name)
{
    Console.Error.WriteLine($"SecMon.Fuzz: no target '{name}'; targets: {string.Join(", ", FuzzTargets.Names)}");
    return 64;
}
