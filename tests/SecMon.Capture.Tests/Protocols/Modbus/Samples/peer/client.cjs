// A raw Modbus/TCP client for what mbpoll cannot send (SecMon samples only): it writes each ADU itself on one
// connection from a chosen source address, and waits up to 150 ms for each answer (a server does not answer a
// unit id it is not). Usage: node client.cjs SOURCE HOST PORT SCENARIO
//   rogue: single and multiple register writes, diagnostics (8/0), read device identification (43/14),
//          mask write (22), read/write multiple (23), then a function-code sweep 1..40 and a unit-id sweep 1..24.
"use strict";
const net = require("net");

const [source, host, port, scenario] = [process.argv[2], process.argv[3], Number(process.argv[4]), process.argv[5] || "rogue"];
let tid = 0x100;

function adu(unit, pdu) {
    const b = Buffer.alloc(7 + pdu.length);
    b.writeUInt16BE(tid++ & 0xffff, 0);
    b.writeUInt16BE(0, 2);
    b.writeUInt16BE(pdu.length + 1, 4);
    b.writeUInt8(unit, 6);
    Buffer.from(pdu).copy(b, 7);
    return b;
}

const u16 = (v) => [(v >> 8) & 0xff, v & 0xff];

// A well-formed request for each function code a sweep tries (the layouts of the specification; others padded).
function sweepPdu(fc) {
    switch (fc) {
        case 1: case 2: case 3: case 4: return [fc, ...u16(0), ...u16(1)];
        case 5: return [fc, ...u16(0), 0, 0];
        case 6: return [fc, ...u16(0), ...u16(0)];
        case 8: return [fc, ...u16(0), ...u16(0)];
        case 15: return [fc, ...u16(0), ...u16(1), 1, 0];
        case 16: return [fc, ...u16(0), ...u16(1), 2, ...u16(0)];
        case 22: return [fc, ...u16(0), ...u16(0xffff), ...u16(0)];
        case 23: return [fc, ...u16(0), ...u16(1), ...u16(0), ...u16(1), 2, ...u16(0)];
        case 24: return [fc, ...u16(0)];
        case 43: return [fc, 14, 1, 0];
        case 7: case 11: case 12: case 17: return [fc];
        default: return [fc, 0, 0, 0, 0]; // what scanners send to codes they do not know
    }
}

function requests() {
    const list = [];
    list.push(adu(1, [6, ...u16(10), ...u16(4242)]));                          // write single register
    list.push(adu(1, [16, ...u16(20), ...u16(3), 6, ...u16(1), ...u16(2), ...u16(3)])); // write multiple registers
    list.push(adu(1, [5, ...u16(7), 0xff, 0x00]));                            // write single coil on
    list.push(adu(1, [8, ...u16(0), 0x12, 0x34]));                            // diagnostics: return query data
    list.push(adu(1, [43, 14, 1, 0]));                                        // read device identification, basic
    list.push(adu(1, [43, 14, 3, 0]));                                        // read device identification, extended
    list.push(adu(1, [22, ...u16(4), ...u16(0x00f2), ...u16(0x0025)]));       // mask write register
    list.push(adu(1, [23, ...u16(0), ...u16(2), ...u16(30), ...u16(1), 2, ...u16(99)])); // read/write multiple
    for (let fc = 1; fc <= 40; fc++) {                                         // function-code sweep
        list.push(adu(1, sweepPdu(fc)));
    }
    for (let unit = 2; unit <= 24; unit++) {                                   // unit-id sweep
        list.push(adu(unit, [3, ...u16(0), ...u16(1)]));
    }
    return list;
}

let answered = null;
const socket = net.connect({ host, port, localAddress: source }, async () => {
    for (const r of requests()) {
        socket.write(r);
        await new Promise((resolve) => {
            const t = setTimeout(resolve, 150);
            answered = () => { clearTimeout(t); resolve(); };
        });
        answered = null;
    }
    socket.end();
});
socket.on("data", () => { if (answered) { answered(); } });
socket.on("error", (e) => { console.error(e.message); process.exit(1); });
