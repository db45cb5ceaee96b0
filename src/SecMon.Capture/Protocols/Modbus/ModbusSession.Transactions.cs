using SecMon.Core.Flows;

namespace SecMon.Capture.Protocols.Modbus;

/// <summary>
/// Events and transactions (Suricata's <c>modbus.rs</c>): each request waits, keyed by transaction id and unit id
/// (guide §3.1.3: the server copies both from the request), for its response; the response takes the request's
/// address and quantity where it does not repeat them (a read's response carries only the data) and the time it took.
/// Requests still waiting when the flow ends are <c>modbus.unanswered</c> events. A client reusing a transaction id
/// that is still waiting replaces the older request. At most <see cref="ModbusOptions.MaxInFlight"/> wait.
/// </summary>
internal sealed partial class ModbusSession
{
    private readonly int _maxInFlight;
    private ModbusRequestEvent?[]? _inFlight;
    private int _inFlightCount;

    /// <summary>Requests not tracked because <see cref="ModbusOptions.MaxInFlight"/> were waiting.</summary>
    internal long UntrackedRequests { get; private set; }

    /// <summary>Requests waiting for their response.</summary>
    internal int InFlight => _inFlightCount;

    /// <summary>One complete ADU (header checked by the framing).</summary>
    private void Adu(FlowDirection direction, ReadOnlySpan<byte> adu, in PacketMeta meta)
    {
        ModbusParser.TryReadHeader(adu, out var h, out _);
        var pdu = adu[7..];
        if (direction == FlowDirection.ToServer)
        {
            if (!ModbusParser.TryReadRequest(pdu, _maxValues, out var p, out var error))
            {
                ReportMalformed(direction, meta, error, h.TransactionId, h.UnitId, p.FunctionCode);
                return;
            }

            var request = new ModbusRequestEvent
            {
                Flow = _toServer,
                TimestampMicros = meta.TimestampMicros,
                PacketNumber = meta.PacketNumber,
                TransactionId = h.TransactionId,
                UnitId = h.UnitId,
                FunctionCode = p.FunctionCode,
                Function = ModbusFunctions.Name(p.FunctionCode, p.MeiType),
                Address = p.Address,
                Quantity = p.Quantity,
                Value = p.Value,
                ByteCount = p.ByteCount,
                Values = p.Values,
                AndMask = p.AndMask,
                OrMask = p.OrMask,
                WriteAddress = p.WriteAddress,
                WriteQuantity = p.WriteQuantity,
                SubFunction = p.SubFunction,
                MeiType = p.MeiType,
                DeviceIdCode = p.DeviceIdCode,
                ObjectId = p.ObjectId,
            };
            _services.Events.Emit(request);
            Track(request);
            return;
        }

        var asked = Take(h.TransactionId, h.UnitId);
        if (asked is not null && asked.FunctionCode != (h.Function & 0x7F))
        {
            asked = null; // not the answer to that request: its fields would mislead
        }

        if (!ModbusParser.TryReadResponse(pdu, asked?.Quantity, _maxValues, out var r, out var rerror))
        {
            ReportMalformed(direction, meta, rerror, h.TransactionId, h.UnitId, r.FunctionCode);
            return;
        }

        var meiType = r.MeiType ?? asked?.MeiType;
        _services.Events.Emit(new ModbusResponseEvent
        {
            Flow = FlowOf(FlowDirection.ToClient),
            TimestampMicros = meta.TimestampMicros,
            PacketNumber = meta.PacketNumber,
            TransactionId = h.TransactionId,
            UnitId = h.UnitId,
            FunctionCode = r.FunctionCode,
            Function = ModbusFunctions.Name(r.FunctionCode, meiType),
            ExceptionCode = r.ExceptionCode,
            RequestSeen = asked is not null,
            ResponseTimeMicros = asked is not null ? meta.TimestampMicros - asked.TimestampMicros : null,
            Address = r.Address ?? asked?.Address,
            Quantity = r.Quantity ?? asked?.Quantity,
            Value = r.Value,
            ByteCount = r.ByteCount,
            Values = r.Values,
            AndMask = r.AndMask,
            OrMask = r.OrMask,
            WriteAddress = asked?.WriteAddress,
            WriteQuantity = asked?.WriteQuantity,
            SubFunction = r.SubFunction ?? asked?.SubFunction,
            MeiType = meiType,
            DeviceIdCode = r.DeviceIdCode ?? asked?.DeviceIdCode,
            ObjectId = asked?.ObjectId,
            ConformityLevel = r.ConformityLevel,
            ObjectCount = r.ObjectCount,
            Vendor = r.Vendor,
            ProductCode = r.ProductCode,
            Revision = r.Revision,
            VendorUrl = r.VendorUrl,
            ProductName = r.ProductName,
            ModelName = r.ModelName,
        });
    }

    private void Track(ModbusRequestEvent request)
    {
        var i = IndexOf(request.TransactionId, request.UnitId);
        if (i >= 0)
        {
            _inFlight![i] = request;
            return;
        }

        if (_inFlightCount >= _maxInFlight)
        {
            UntrackedRequests++;
            return;
        }

        _inFlight ??= new ModbusRequestEvent?[Math.Min(4, _maxInFlight)];
        if (_inFlightCount == _inFlight.Length)
        {
            Array.Resize(ref _inFlight, Math.Min(_inFlight.Length * 2, _maxInFlight));
        }

        _inFlight[_inFlightCount++] = request;
    }

    /// <summary>Removes and returns the request waiting with this transaction id and unit id, or null.</summary>
    private ModbusRequestEvent? Take(int transactionId, int unitId)
    {
        var i = IndexOf(transactionId, unitId);
        if (i < 0)
        {
            return null;
        }

        var request = _inFlight![i];
        // Keep the order (unanswered ones are reported as sent): requests in flight are few.
        Array.Copy(_inFlight, i + 1, _inFlight, i, _inFlightCount - i - 1);
        _inFlight[--_inFlightCount] = null;
        return request;
    }

    private int IndexOf(int? transactionId, int? unitId)
    {
        for (var i = 0; i < _inFlightCount; i++)
        {
            var r = _inFlight![i]!;
            if (r.TransactionId == transactionId && r.UnitId == unitId)
            {
                return i;
            }
        }

        return -1;
    }

    private void ForgetRequests()
    {
        if (_inFlight is not null)
        {
            Array.Clear(_inFlight);
        }

        _inFlightCount = 0;
    }

    private void ReportUnanswered(in PacketMeta meta)
    {
        for (var i = 0; i < _inFlightCount; i++)
        {
            var r = _inFlight![i]!;
            _services.Events.Emit(new ModbusUnansweredEvent
            {
                Flow = _toServer,
                TimestampMicros = meta.TimestampMicros,
                PacketNumber = meta.PacketNumber,
                RequestPacket = r.PacketNumber,
                TransactionId = r.TransactionId,
                UnitId = r.UnitId,
                FunctionCode = r.FunctionCode,
                Function = r.Function,
                Address = r.Address,
                Quantity = r.Quantity,
                Value = r.Value,
                ByteCount = r.ByteCount,
                Values = r.Values,
                AndMask = r.AndMask,
                OrMask = r.OrMask,
                WriteAddress = r.WriteAddress,
                WriteQuantity = r.WriteQuantity,
                SubFunction = r.SubFunction,
                MeiType = r.MeiType,
                DeviceIdCode = r.DeviceIdCode,
                ObjectId = r.ObjectId,
            });
        }

        ForgetRequests();
        _inFlight = null;
    }

    /// <summary>Reports a malformed ADU: diagnostic (with its reason), counters, and a <c>modbus.malformed</c> event.</summary>
    private void ReportMalformed(FlowDirection direction, in PacketMeta meta, in ParseError error, int? transactionId, int? unitId, int? functionCode)
    {
        ref var d = ref DirectionOf(direction);
        var fc = functionCode is > 0 and < 128 ? functionCode : null;
        var what = fc is { } f ? ModbusFunctions.Name(f) : "an ADU";
        var message = $"modbus: {error}, in {what} from the {Name(direction)} near stream offset {d.Offset}";
        _services.Diagnostics.ReportMalformed(meta, ProtocolName, error.Reason, message);
        _services.Stats.CountMalformed(ProtocolName, error.Reason);
        _services.Events.Emit(new ModbusMalformedEvent
        {
            Flow = FlowOf(direction),
            TimestampMicros = meta.TimestampMicros,
            PacketNumber = meta.PacketNumber,
            TransactionId = transactionId,
            UnitId = unitId,
            FunctionCode = fc,
            Function = fc is { } g ? ModbusFunctions.Name(g) : null,
            ErrorMessage = message,
        });
    }
}
