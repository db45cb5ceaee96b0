// A Modbus/TCP server for SecMon's samples: modbus-serial's ServerTCP (a real, independent implementation) on
// HOST:PORT, unit id 1 only (requests to other units get no answer, as on a real device), 100 holding registers,
// 100 input registers, 100 coils and discrete inputs; addresses from 100 up answer exception 2 (illegal data
// address); Read Device Identification answers vendor "SecMon Lab", product code "MB-SIM-1", revision "1.4.2".
// Usage: node server.cjs HOST PORT
"use strict";
const ModbusRTU = require("modbus-serial");

const host = process.argv[2] || "127.0.0.2";
const port = Number(process.argv[3] || 1502);
const holding = Array.from({ length: 100 }, (_, i) => i * 10);
const coils = Array.from({ length: 100 }, (_, i) => i % 3 === 0);

function check(addr) {
    if (addr >= 100) {
        throw { modbusErrorCode: 0x02, msg: "illegal data address" };
    }
}

const vector = {
    getInputRegister(addr) { check(addr); return 1000 + addr; },
    getHoldingRegister(addr) { check(addr); return holding[addr]; },
    getCoil(addr) { check(addr); return coils[addr]; },
    getDiscreteInput(addr) { check(addr); return addr % 2 === 0; },
    setRegister(addr, value) { check(addr); holding[addr] = value; },
    setCoil(addr, value) { check(addr); coils[addr] = value; },
    readDeviceIdentification() {
        return { 0x00: "SecMon Lab", 0x01: "MB-SIM-1", 0x02: "1.4.2", 0x03: "https://example.invalid/mb", 0x04: "Sample PLC", 0x05: "SIM-100" };
    },
};

const server = new ModbusRTU.ServerTCP(vector, { host, port, unitID: 1 });
server.on("initialized", () => console.log(`listening on ${host}:${port}`));
server.on("socketError", () => {});
process.on("SIGTERM", () => server.close(() => process.exit(0)));
