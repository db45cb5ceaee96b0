// A WebSocket endpoint for MQTT with permessage-deflate, as EMQX and HiveMQ offer it: the npm `ws` server (compression
// agreed, messages of 32 bytes or more compressed) passing each connection on to mosquitto over TCP.
//   node bridge.mjs LISTEN_HOST LISTEN_PORT BROKER_HOST BROKER_PORT
import net from "node:net";
import { WebSocketServer } from "ws";

const [host, port, brokerHost, brokerPort] = process.argv.slice(2);
const server = new WebSocketServer({
  host, port: Number(port),
  perMessageDeflate: { threshold: 32 },
  handleProtocols: (protocols) => (protocols.has("mqtt") ? "mqtt" : false),
});
server.on("connection", (ws) => {
  const tcp = net.connect(Number(brokerPort), brokerHost);
  ws.on("message", (data) => tcp.write(data));
  tcp.on("data", (data) => ws.send(data, { binary: true }));
  ws.on("close", () => tcp.end());
  tcp.on("close", () => ws.close());
});
server.on("listening", () => console.log("listening"));
