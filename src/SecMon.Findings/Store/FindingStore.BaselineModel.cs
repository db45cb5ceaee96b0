using System.Text;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using SecMon.Core;

namespace SecMon.Findings.Store;

public sealed partial class FindingStore
{
    /// <summary>The key of the model in a baselines export line (<c>"device_id"</c>, the line format's historical
    /// name): exports written before the model had a table of its own read the same.</summary>
    public const string BaselineModelExportKey = "secmon-baseline-model";

    /// <summary>Stores (replaces) the learned baseline model: a JSON document the detection engine owns, one per store.</summary>
    /// <exception cref="ArgumentException">The model is not valid JSON.</exception>
    public void SaveBaselineModel(string json)
    {
        if (!IsJson(json))
        {
            throw new ArgumentException("the baseline model is not valid JSON", nameof(json));
        }

        SaveBaselineModel(json, Time.ToUnixMicros(_options.TimeProvider.GetUtcNow()));
    }

    /// <summary>The stored baseline model, or null when none is stored.</summary>
    public string? LoadBaselineModel() => LoadBaselineModelWithTime()?.Json;

    /// <summary>Deletes the stored baseline model (the next run learns anew); false when there was none.</summary>
    public bool DeleteBaselineModel()
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return Guard(() =>
            {
                using var cmd = Connection.CreateCommand();
                cmd.CommandText = "DELETE FROM baseline_model";
                return cmd.ExecuteNonQuery() > 0;
            });
        }
    }

    /// <summary>Writes the model as one JSON line <c>{"device_id": "secmon-baseline-model", "updated": ..., "baseline":
    /// {...}}</c> (for backup or moving to another sensor) and returns how many lines: 0 when none is stored, else 1.</summary>
    public int ExportBaselineModel(TextWriter output)
    {
        ArgumentNullException.ThrowIfNull(output);
        if (LoadBaselineModelWithTime() is not var (json, updated))
        {
            return 0;
        }

        using var doc = JsonDocument.Parse(json);
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("device_id", BaselineModelExportKey);
            writer.WriteString("updated", Time.FormatMicros(updated));
            writer.WritePropertyName("baseline");
            doc.RootElement.WriteTo(writer);
            writer.WriteEndObject();
        }

        output.WriteLine(Encoding.UTF8.GetString(buffer.ToArray()));
        return 1;
    }

    /// <summary>Reads lines written by <see cref="ExportBaselineModel"/> and stores the model (replacing the stored one,
    /// keeping its exported update time). All or nothing: the input must hold exactly one well-formed line with the
    /// model's key (<see cref="BaselineModelExportKey"/>), or nothing is imported.</summary>
    /// <exception cref="FindingStoreException">Kind <see cref="StoreErrorKind.BadInput"/>, listing every bad line.</exception>
    public void ImportBaselineModel(TextReader input)
    {
        var (rows, errors) = ReadBaselineExport(input);
        foreach (var row in rows.Where(r => r.DeviceId != BaselineModelExportKey))
        {
            errors.Add((row.Line, $"'{row.DeviceId}' is not the baseline model (expected '{BaselineModelExportKey}')"));
        }

        if (errors.Count == 0 && rows.Count != 1)
        {
            errors.Add((0, $"expected one baseline model, found {rows.Count}"));
        }

        if (errors.Count > 0)
        {
            throw new FindingStoreException(new StoreError(StoreErrorKind.BadInput, DatabasePath,
                $"{errors.Count} bad baseline line(s), nothing imported: " +
                string.Join("; ", errors.OrderBy(e => e.Line).Select(e => e.Line > 0 ? $"line {e.Line}: {e.Problem}" : e.Problem))));
        }

        ImportBaselineModel(rows[0]);
    }

    /// <summary>Stores a model read by <see cref="ReadBaselineExport"/>, keeping its exported update time.</summary>
    public void ImportBaselineModel(ExportedBaseline row)
    {
        ArgumentNullException.ThrowIfNull(row);
        SaveBaselineModel(row.Json, row.UpdatedMicros);
    }

    /// <summary>Parses lines written by <see cref="ExportBaselineModel"/>: every well-formed line, and every bad one
    /// with its line number and what is wrong (blank lines are skipped).</summary>
    public static (List<ExportedBaseline> Rows, List<(int Line, string Problem)> Errors) ReadBaselineExport(TextReader input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var rows = new List<ExportedBaseline>();
        var errors = new List<(int, string)>();
        var lineNumber = 0;
        while (input.ReadLine() is { } line)
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }

            try
            {
                using var doc = JsonDocument.Parse(line);
                var root = doc.RootElement;
                if (root.ValueKind != JsonValueKind.Object
                    || !root.TryGetProperty("device_id", out var id) || id.ValueKind != JsonValueKind.String || id.GetString()!.Length == 0
                    || !root.TryGetProperty("baseline", out var baseline)
                    || !root.TryGetProperty("updated", out var updated) || !updated.TryGetDateTimeOffset(out var when))
                {
                    errors.Add((lineNumber, "expected {\"device_id\": text, \"updated\": date, \"baseline\": JSON}"));
                    continue;
                }

                rows.Add(new ExportedBaseline(lineNumber, id.GetString()!, baseline.GetRawText(), Time.ToUnixMicros(when)));
            }
            catch (JsonException ex)
            {
                errors.Add((lineNumber, $"not JSON ({ex.Message})"));
            }
        }

        return (rows, errors);
    }

    private void SaveBaselineModel(string json, long updatedMicros)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            Guard(() =>
            {
                using var cmd = Connection.CreateCommand();
                cmd.CommandText = "INSERT OR REPLACE INTO baseline_model(id, updated, doc) VALUES (1, $updated, $doc)";
                cmd.Parameters.Add(new SqliteParameter("$updated", updatedMicros));
                cmd.Parameters.Add(new SqliteParameter("$doc", json));
                return cmd.ExecuteNonQuery();
            });
        }
    }

    private (string Json, long Updated)? LoadBaselineModelWithTime()
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return Guard(() =>
            {
                using var cmd = Connection.CreateCommand();
                cmd.CommandText = "SELECT doc, updated FROM baseline_model WHERE id = 1";
                using var reader = cmd.ExecuteReader();
                return reader.Read() ? (reader.GetString(0), reader.GetInt64(1)) : ((string, long)?)null;
            });
        }
    }

    private static bool IsJson(string? json)
    {
        if (json is null)
        {
            return false;
        }

        try
        {
            using var _ = JsonDocument.Parse(json);
            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }
}

/// <summary>One line of a baselines export (<see cref="FindingStore.ExportBaselineModel"/>).</summary>
/// <param name="Line">Its line number in the input.</param>
/// <param name="DeviceId">The key on the line (<see cref="FindingStore.BaselineModelExportKey"/> for the model).</param>
/// <param name="Json">The baseline document.</param>
/// <param name="UpdatedMicros">When it was last saved, UTC microseconds.</param>
public sealed record ExportedBaseline(int Line, string DeviceId, string Json, long UpdatedMicros);
