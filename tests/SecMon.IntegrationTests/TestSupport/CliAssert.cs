namespace SecMon.IntegrationTests.TestSupport;

/// <summary>Assertions on what a secmon command printed, shared by the tests of the command line's contract.</summary>
internal static class CliAssert
{
    /// <summary>Errors are one line naming the file and what to do, never a .NET stack trace or exception name.</summary>
    public static void NoStackTrace(string stderr)
    {
        Assert.DoesNotContain("   at ", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", stderr, StringComparison.Ordinal);
    }

    /// <summary>An MQTT event by what identifies it across runs of the same packets: type, time, flow, direction,
    /// client, topic and packet id.</summary>
    public static string MqttKey(SecMonEvent e) =>
        $"{e.Type} {e.Text("@timestamp")} {e.Text("flow.id")} {e.Text("flow.direction")} " +
        $"client={e.Text("mqtt.client_id")} topic={e.Text("mqtt.topic")} id={e.Number("mqtt.packet_id")}";
}
