using System.Text;

namespace SecMon.Findings.Summary;

/// <summary>
/// A plain-text table for terminals: columns padded to their widest cell, numbers right-aligned. Cells are made
/// safe to print: control characters (a client id can hold an ESC sequence) and bidirectional overrides become
/// <c>?</c>, and a cell longer than its column's limit is cut with an ellipsis.
/// </summary>
public sealed class TextTable
{
    private readonly string[] _headers;
    private readonly bool[] _rightAligned;
    private readonly int[] _maxWidths;
    private readonly List<string[]> _rows = [];

    /// <summary>Creates a table with the given columns.</summary>
    public TextTable(params TextColumn[] columns)
    {
        ArgumentNullException.ThrowIfNull(columns);
        // Plain loops rather than LINQ: generic instantiations over bool and int have no precompiled code, and
        // each would be compiled at run time on the start-up path of every table (bench/README.md, "CLI start-up").
        _headers = new string[columns.Length];
        _rightAligned = new bool[columns.Length];
        _maxWidths = new int[columns.Length];
        for (var i = 0; i < columns.Length; i++)
        {
            _headers[i] = columns[i].Header;
            _rightAligned[i] = columns[i].RightAligned;
            _maxWidths[i] = columns[i].MaxWidth;
        }
    }

    /// <summary>Rows added so far.</summary>
    public int Count => _rows.Count;

    /// <summary>Adds a row (one cell per column; null prints as <c>-</c>).</summary>
    public void Add(params string?[] cells)
    {
        ArgumentNullException.ThrowIfNull(cells);
        if (cells.Length != _headers.Length)
        {
            throw new ArgumentException($"expected {_headers.Length} cells, got {cells.Length}", nameof(cells));
        }

        var row = new string[cells.Length];
        for (var i = 0; i < cells.Length; i++)
        {
            row[i] = Cut(Safe(cells[i] ?? "-"), _maxWidths[i]);
        }

        _rows.Add(row);
    }

    /// <summary>Writes the header and the rows.</summary>
    public void Write(TextWriter output)
    {
        ArgumentNullException.ThrowIfNull(output);
        var widths = new int[_headers.Length];
        for (var i = 0; i < widths.Length; i++)
        {
            widths[i] = _headers[i].Length;
            foreach (var row in _rows)
            {
                widths[i] = Math.Max(widths[i], row[i].Length);
            }
        }

        WriteRow(output, _headers, widths);
        foreach (var row in _rows)
        {
            WriteRow(output, row, widths);
        }
    }

    private void WriteRow(TextWriter output, string[] cells, int[] widths)
    {
        var sb = new StringBuilder();
        for (var i = 0; i < cells.Length; i++)
        {
            var last = i == cells.Length - 1;
            if (i > 0)
            {
                sb.Append("  ");
            }

            if (_rightAligned[i])
            {
                sb.Append(cells[i].PadLeft(widths[i]));
            }
            else
            {
                sb.Append(last ? cells[i] : cells[i].PadRight(widths[i]));
            }
        }

        output.WriteLine(sb.ToString().TrimEnd());
    }

    /// <summary>Replaces characters that would act on a terminal (C0/C1 controls, DEL, bidi controls) with '?'.</summary>
    public static string Safe(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (!text.Any(IsUnsafe))
        {
            return text;
        }

        return string.Create(text.Length, text, static (span, s) =>
        {
            for (var i = 0; i < s.Length; i++)
            {
                span[i] = IsUnsafe(s[i]) ? '?' : s[i];
            }
        });
    }

    private static bool IsUnsafe(char c) =>
        char.IsControl(c) || c is >= '\u202A' and <= '\u202E' || c is >= '\u2066' and <= '\u2069' || c is '\u200E' or '\u200F';

    private static string Cut(string text, int max) =>
        max <= 0 || text.Length <= max ? text : string.Concat(text.AsSpan(0, Math.Max(0, max - 1)), "…");
}

/// <summary>A column of a <see cref="TextTable"/>.</summary>
/// <param name="Header">The header text.</param>
/// <param name="RightAligned">Right-align the column (numbers).</param>
/// <param name="MaxWidth">Longest cell before it is cut; 0 for no limit.</param>
public sealed record TextColumn(string Header, bool RightAligned = false, int MaxWidth = 0);
