using System.Collections;
using System.Runtime.CompilerServices;

namespace SecMon.Capture.Protocols.Modbus;

/// <summary>
/// The values of a register or coil read or write as an event reports them (<c>modbus.values</c>): up to
/// <see cref="Capacity"/> 16-bit values held inside the one object, where a <c>long[]</c> of 16 took 152 bytes (an
/// event per request and per response: this list was a tenth of what a Modbus poll allocated). Registers are 16-bit
/// (Modbus Application Protocol v1.1b3 §4.3) and coils 0 or 1, so nothing is lost. Filled once by the parser, then read only.
/// </summary>
internal sealed class ModbusValues : IReadOnlyList<long>
{
    /// <summary>Most values held (the default bound of <see cref="ModbusOptions.MaxValues"/>); more use a <c>long[]</c>.</summary>
    public const int Capacity = 16;

    private readonly int _count;
    private Words _words;

    /// <summary>Creates a list of <paramref name="count"/> zeros (0 to <see cref="Capacity"/>).</summary>
    public ModbusValues(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(count, Capacity);
        _count = count;
    }

    /// <inheritdoc />
    public int Count => _count;

    /// <inheritdoc />
    public long this[int index]
    {
        get
        {
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)index, (uint)_count, nameof(index));
            return _words[index];
        }
    }

    /// <summary>Sets the value at <paramref name="index"/> (the parser, while filling the list).</summary>
    public void Set(int index, ushort value)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)index, (uint)_count, nameof(index));
        _words[index] = value;
    }

    /// <inheritdoc />
    public IEnumerator<long> GetEnumerator()
    {
        for (var i = 0; i < _count; i++)
        {
            yield return _words[i];
        }
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    [InlineArray(Capacity)]
    private struct Words
    {
        private ushort _first;
    }
}
