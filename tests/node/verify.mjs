// Verifies recorded webhook deliveries with the Standard Webhooks reference library for JavaScript
// (npm "standardwebhooks"), independently of SecMon's own signing code.
// Input: a file of JSON lines {"headers": {"webhook-id": ..., ...}, "body": "<the raw body as text>"}.
// The secret comes from the environment (WEBHOOK_SECRET, whsec_...), never from the command line.
// Output: one JSON line per delivery {"id": ..., "ok": true} or {"id": ..., "ok": false, "error": ...},
// then exit code 0 when every delivery verified, 1 otherwise, 2 on bad usage.
import { readFileSync } from "node:fs";
import { Webhook } from "standardwebhooks";

const file = process.argv[2];
const secret = process.env.WEBHOOK_SECRET;
if (!file || !secret) {
  console.error("usage: WEBHOOK_SECRET=whsec_... node verify.mjs DELIVERIES.jsonl");
  process.exit(2);
}

const wh = new Webhook(secret);
let failed = 0;
for (const line of readFileSync(file, "utf8").split("\n")) {
  if (line.trim() === "") continue;
  const d = JSON.parse(line);
  try {
    wh.verify(d.body, d.headers);
    console.log(JSON.stringify({ id: d.headers["webhook-id"], ok: true }));
  } catch (e) {
    failed++;
    console.log(JSON.stringify({ id: d.headers["webhook-id"], ok: false, error: String(e.message) }));
  }
}
process.exit(failed === 0 ? 0 : 1);
