// MQTT 5 client for samples/record.sh: the cases mosquitto_pub cannot make.
//   - PUBLISH with a topic alias (MQTT 5.0 §3.3.2.3.4): the first publish carries the topic and alias 1,
//     the next ones an empty topic and alias 1 only.
//   - CONNECT with session expiry, receive maximum, topic alias maximum, user properties and a will with
//     will properties (will delay, content type).
//   - DISCONNECT with reason code 0x04 "Disconnect with Will Message" (MQTT 5.0 §3.14.2.1), so the broker
//     publishes the will although the client leaves cleanly.
// Usage: node mqtt5-topic-alias.js PORT CLIENT_ID
'use strict';

const mqtt = require('mqtt');

const port = Number(process.argv[2] || 1883);
const clientId = process.argv[3] || 'props-node-alias';

const client = mqtt.connect({
  host: '127.0.0.1',
  port,
  protocolVersion: 5,
  clientId,
  clean: true,
  keepalive: 30,
  reconnectPeriod: 0,
  properties: {
    sessionExpiryInterval: 600,
    receiveMaximum: 20,
    topicAliasMaximum: 5,
    userProperties: { firmware: '1.2.3', model: 'th-sensor' },
  },
  will: {
    topic: 'devices/dev-6/status',
    payload: Buffer.from('offline'),
    qos: 1,
    retain: false,
    properties: { willDelayInterval: 0, contentType: 'text/plain', userProperties: { reason: 'will' } },
  },
});

function publish(topic, payload, properties) {
  return new Promise((resolve, reject) => {
    client.publish(topic, payload, { qos: 1, properties }, (err) => (err ? reject(err) : resolve()));
  });
}

client.on('error', (err) => {
  console.error(`mqtt5-topic-alias: ${err.message}`);
  process.exit(1);
});

client.on('connect', async () => {
  try {
    // Alias 1 is bound to the topic by the first publish (topic + alias), then used alone (empty topic).
    await publish('devices/dev-6/telemetry', '{"t":20.5}', { topicAlias: 1, contentType: 'application/json' });
    await publish('', '{"t":20.7}', { topicAlias: 1, contentType: 'application/json' });
    await publish('', '{"t":20.9}', { topicAlias: 1, messageExpiryInterval: 30 });
    client.end(false, { reasonCode: 0x04 }, () => process.exit(0));
  } catch (err) {
    console.error(`mqtt5-topic-alias: ${err.message}`);
    process.exit(1);
  }
});
