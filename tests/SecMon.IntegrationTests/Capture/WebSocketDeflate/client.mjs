// An MQTT.js client over ws:// with permessage-deflate (as a browser dashboard offers it): CONNECT with a user name and
// password, SUBSCRIBE plant/#, five PUBLISHes (repetitive JSON, compressed; the broker sends them back), DISCONNECT.
//   node client.mjs URL
import mqtt from "mqtt";

const client = mqtt.connect(process.argv[2], {
  clientId: "ws-dashboard-1", username: "operator", password: "s3cret-pass", protocolVersion: 4, reconnectPeriod: 0,
  wsOptions: { perMessageDeflate: { threshold: 32 } },
});
client.on("connect", async () => {
  await client.subscribeAsync("plant/#", { qos: 0 });
  for (let i = 0; i < 5; i++) {
    await client.publishAsync("plant/line-1/temperature", JSON.stringify({ sensor: "line-1", celsius: 21.5 + i / 10, unit: "C", status: "ok" }), { qos: 1 });
    await new Promise((r) => setTimeout(r, 200));
  }
  await new Promise((r) => setTimeout(r, 300));
  await client.endAsync();
  process.exit(0);
});
client.on("error", (e) => { console.error(e.message); process.exit(1); });
