// MQTT 3.1.1 over WebSocket for record.sh (the wall panel and the intruder): Node.js core modules only.
// usage: node wsmqtt.js HOST PORT CLIENTID (pub TOPIC COUNT INTERVAL_MS | sub FILTER SECONDS)
const net = require('net'); const crypto = require('crypto');
const [host, port, cid, mode, a, b, c] = process.argv.slice(2);
const s = net.connect(+port, host);
const str = t => { const x = Buffer.from(t); return Buffer.concat([Buffer.from([x.length >> 8, x.length & 255]), x]); };
const len = n => { const o = []; do { let d = n % 128; n = Math.floor(n / 128); if (n) d |= 128; o.push(d); } while (n); return Buffer.from(o); };
const pkt = (h, body) => Buffer.concat([Buffer.from([h]), len(body.length), body]);
function frame(p) { const m = crypto.randomBytes(4); const d = Buffer.from(p); for (let i = 0; i < d.length; i++) d[i] ^= m[i % 4];
  const hdr = d.length < 126 ? Buffer.from([0x82, 0x80 | d.length]) : Buffer.from([0x82, 0xfe, d.length >> 8, d.length & 255]);
  return Buffer.concat([hdr, m, d]); }
let up = false;
s.on('connect', () => s.write(`GET /mqtt HTTP/1.1\r\nHost: ${host}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
  `Sec-WebSocket-Key: ${crypto.randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: mqtt\r\n\r\n`));
s.on('data', d => { if (up) return; if (!d.toString().startsWith('HTTP/1.1 101')) { process.exit(2); } up = true;
  s.write(frame(pkt(0x10, Buffer.concat([str('MQTT'), Buffer.from([4, 2, 0, 60]), str(cid)]))));
  if (mode === 'pub') { let i = 0; const t = setInterval(() => { i++;
      s.write(frame(pkt(0x30, Buffer.concat([str(a), Buffer.from(`{"n":${i}}`)]))));
      if (i >= +b) { clearInterval(t); s.write(frame(pkt(0xe0, Buffer.alloc(0)))); setTimeout(() => s.end(), 200); } }, +c);
  } else { s.write(frame(pkt(0x82, Buffer.concat([Buffer.from([0, 1]), str(a), Buffer.from([0])]))));
    setTimeout(() => { s.write(frame(pkt(0xe0, Buffer.alloc(0)))); setTimeout(() => s.end(), 200); }, +b * 1000); } });
s.on('error', () => process.exit(1));
