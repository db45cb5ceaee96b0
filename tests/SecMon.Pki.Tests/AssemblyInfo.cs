// The PKI tests check Unix file modes (0600 keys); they run on Linux (CI) and macOS only.
[assembly: System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
