// MQTT over WebSocket for samples/record.sh (mosquitto_pub/_sub cannot speak it): ws://127.0.0.1:PORT/mqtt,
// subprotocol "mqtt" (MQTT 5.0 §6), client frames masked (RFC 6455 §5.3).
//   ws-anon:  MQTT 3.1.1, no credentials, subscribes to '#' and publishes sensors/ws/temp (QoS 1).
//   ws-alice: MQTT 5.0, user alice with her password, publishes home/ws/status (QoS 0) and a 70,000-byte
//             firmware/ws/blob (QoS 1): a WebSocket frame with a 64-bit length.
// Usage: node mqtt-websocket.js PORT PASSWORD
'use strict';

const mqtt = require('mqtt');

const port = Number(process.argv[2] || 9001);
const password = process.argv[3] || '';
const url = `ws://127.0.0.1:${port}/mqtt`;

function connect(options) {
  return new Promise((resolve, reject) => {
    const client = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 5000, ...options });
    client.once('connect', () => resolve(client));
    client.once('error', reject);
  });
}

async function main() {
  const anon = await connect({ clientId: 'ws-anon', protocolVersion: 4 });
  // ws-anon ('#') receives its own message and both of alice's; it leaves once it has all three.
  const received = new Promise((resolve) => {
    let n = 0;
    anon.on('message', () => { if (++n === 3) resolve(); });
  });
  await anon.subscribeAsync('#', { qos: 1 });
  await anon.publishAsync('sensors/ws/temp', '21.5', { qos: 1 });

  const alice = await connect({ clientId: 'ws-alice', protocolVersion: 5, username: 'alice', password });
  await alice.publishAsync('home/ws/status', 'online', { qos: 0 });
  await alice.publishAsync('firmware/ws/blob', Buffer.alloc(70000, 0x5a), { qos: 1 });

  await Promise.race([received, new Promise((_, reject) => setTimeout(() => reject(new Error('ws-anon did not receive 3 messages')), 10000))]);
  await alice.endAsync();
  await anon.endAsync();
}

main().catch((e) => {
  console.error(`mqtt-websocket.js: ${e.message}`);
  process.exit(1);
});
