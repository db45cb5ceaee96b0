namespace SecMon.Capture.Protocols.Modbus;

/// <summary>
/// Names of the public function codes, exception codes and diagnostics sub-functions (MODBUS Application Protocol
/// Specification V1.1b3 §5.1, §7, §6.8.1), as SecMon reports them (<c>modbus.function</c>, <c>modbus.exception.name</c>).
/// Every name is a constant: no allocation per message.
/// </summary>
internal static class ModbusFunctions
{
    /// <summary>Read Coils.</summary>
    public const byte ReadCoils = 1;
    /// <summary>Read Discrete Inputs.</summary>
    public const byte ReadDiscreteInputs = 2;
    /// <summary>Read Holding Registers.</summary>
    public const byte ReadHoldingRegisters = 3;
    /// <summary>Read Input Registers.</summary>
    public const byte ReadInputRegisters = 4;
    /// <summary>Write Single Coil.</summary>
    public const byte WriteSingleCoil = 5;
    /// <summary>Write Single Register.</summary>
    public const byte WriteSingleRegister = 6;
    /// <summary>Read Exception Status (serial line only).</summary>
    public const byte ReadExceptionStatus = 7;
    /// <summary>Diagnostics (serial line only), with a sub-function.</summary>
    public const byte Diagnostics = 8;
    /// <summary>Get Comm Event Counter (serial line only).</summary>
    public const byte GetCommEventCounter = 11;
    /// <summary>Get Comm Event Log (serial line only).</summary>
    public const byte GetCommEventLog = 12;
    /// <summary>Write Multiple Coils.</summary>
    public const byte WriteMultipleCoils = 15;
    /// <summary>Write Multiple Registers.</summary>
    public const byte WriteMultipleRegisters = 16;
    /// <summary>Report Server ID (serial line only).</summary>
    public const byte ReportServerId = 17;
    /// <summary>Read File Record.</summary>
    public const byte ReadFileRecord = 20;
    /// <summary>Write File Record.</summary>
    public const byte WriteFileRecord = 21;
    /// <summary>Mask Write Register.</summary>
    public const byte MaskWriteRegister = 22;
    /// <summary>Read/Write Multiple Registers.</summary>
    public const byte ReadWriteMultipleRegisters = 23;
    /// <summary>Read FIFO Queue.</summary>
    public const byte ReadFifoQueue = 24;
    /// <summary>Encapsulated Interface Transport (MEI); type 14 is Read Device Identification.</summary>
    public const byte EncapsulatedInterface = 43;
    /// <summary>MEI type of Read Device Identification (§6.21).</summary>
    public const byte MeiReadDeviceIdentification = 14;

    private static readonly string?[] Names = BuildNames();
    private static readonly string[] Unknown = BuildUnknown();

    /// <summary>True for the function codes the specification defines (§5.1 public codes).</summary>
    public static bool IsKnown(int code) => (uint)code < 128 && Names[code] is not null;

    /// <summary>True for the functions that change the server's data (§6.5, 6.6, 6.11, 6.12, 6.16, 6.17; file
    /// records, §6.15, too).</summary>
    public static bool IsWrite(int code) => code is WriteSingleCoil or WriteSingleRegister or WriteMultipleCoils
        or WriteMultipleRegisters or MaskWriteRegister or ReadWriteMultipleRegisters or WriteFileRecord;

    /// <summary>The snake_case name of a function code (1-127; 43 with MEI type 14 is read_device_identification);
    /// user-defined and reserved codes are <c>function_N</c>.</summary>
    public static string Name(int code, int? meiType = null)
    {
        if (code == EncapsulatedInterface && meiType is { } mei)
        {
            return mei switch
            {
                MeiReadDeviceIdentification => "read_device_identification",
                13 => "canopen_general_reference",
                _ => "encapsulated_interface_transport",
            };
        }

        return (uint)code < 128 ? Names[code] ?? Unknown[code] : Unknown[0];
    }

    /// <summary>The name of an exception code (§7); others are <c>exception_N</c>.</summary>
    public static string ExceptionName(int code) => code switch
    {
        1 => "illegal_function",
        2 => "illegal_data_address",
        3 => "illegal_data_value",
        4 => "server_device_failure",
        5 => "acknowledge",
        6 => "server_device_busy",
        7 => "negative_acknowledge",
        8 => "memory_parity_error",
        10 => "gateway_path_unavailable",
        11 => "gateway_target_device_failed_to_respond",
        _ => "exception_other",
    };

    /// <summary>The name of a Diagnostics sub-function (§6.8.1); others are <c>other</c>.</summary>
    public static string DiagnosticName(int subFunction) => subFunction switch
    {
        0 => "return_query_data",
        1 => "restart_communications_option",
        2 => "return_diagnostic_register",
        3 => "change_ascii_input_delimiter",
        4 => "force_listen_only_mode",
        10 => "clear_counters_and_diagnostic_register",
        11 => "return_bus_message_count",
        12 => "return_bus_communication_error_count",
        13 => "return_bus_exception_error_count",
        14 => "return_server_message_count",
        15 => "return_server_no_response_count",
        16 => "return_server_nak_count",
        17 => "return_server_busy_count",
        18 => "return_bus_character_overrun_count",
        20 => "clear_overrun_counter_and_flag",
        _ => "other",
    };

    private static string?[] BuildNames()
    {
        var n = new string?[128];
        n[ReadCoils] = "read_coils";
        n[ReadDiscreteInputs] = "read_discrete_inputs";
        n[ReadHoldingRegisters] = "read_holding_registers";
        n[ReadInputRegisters] = "read_input_registers";
        n[WriteSingleCoil] = "write_single_coil";
        n[WriteSingleRegister] = "write_single_register";
        n[ReadExceptionStatus] = "read_exception_status";
        n[Diagnostics] = "diagnostics";
        n[GetCommEventCounter] = "get_comm_event_counter";
        n[GetCommEventLog] = "get_comm_event_log";
        n[WriteMultipleCoils] = "write_multiple_coils";
        n[WriteMultipleRegisters] = "write_multiple_registers";
        n[ReportServerId] = "report_server_id";
        n[ReadFileRecord] = "read_file_record";
        n[WriteFileRecord] = "write_file_record";
        n[MaskWriteRegister] = "mask_write_register";
        n[ReadWriteMultipleRegisters] = "read_write_multiple_registers";
        n[ReadFifoQueue] = "read_fifo_queue";
        n[EncapsulatedInterface] = "encapsulated_interface_transport";
        return n;
    }

    // "function_N" for every code, built once, so an unknown code in a sweep allocates nothing.
    private static string[] BuildUnknown()
    {
        var u = new string[128];
        for (var i = 0; i < u.Length; i++)
        {
            u[i] = "function_" + i.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        return u;
    }
}
