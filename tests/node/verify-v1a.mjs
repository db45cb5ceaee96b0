// Verifies the asymmetric (v1a, Ed25519) signatures of recorded webhook deliveries with node's own crypto (OpenSSL),
// independently of SecMon's signing code: each delivery must carry a v1a signature over "{id}.{timestamp}.{body}"
// that the public key verifies (standard-webhooks.md, "Signature scheme").
// Input: as verify.mjs. The public key comes from the environment (WEBHOOK_PUBLIC_KEY, whpk_ + base64 of 32 bytes).
// Output: one JSON line per delivery {"id": ..., "ok": true|false, "error": ...}; exit 0 when all verified.
import { readFileSync } from "node:fs";
import { createPublicKey, verify } from "node:crypto";

const file = process.argv[2];
const encoded = process.env.WEBHOOK_PUBLIC_KEY;
if (!file || !encoded || !encoded.startsWith("whpk_")) {
  console.error("usage: WEBHOOK_PUBLIC_KEY=whpk_... node verify-v1a.mjs DELIVERIES.jsonl");
  process.exit(2);
}

const raw = Buffer.from(encoded.substring(5), "base64");
const key = createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x: raw.toString("base64url") }, format: "jwk" });
let failed = 0;
for (const line of readFileSync(file, "utf8").split("\n")) {
  if (line.trim() === "") continue;
  const d = JSON.parse(line);
  const h = d.headers;
  const content = Buffer.from(`${h["webhook-id"]}.${h["webhook-timestamp"]}.${d.body}`, "utf8");
  const signatures = h["webhook-signature"].split(" ").filter((s) => s.startsWith("v1a,")).map((s) => Buffer.from(s.substring(4), "base64"));
  const ok = signatures.some((sig) => verify(null, content, key, sig));
  if (!ok) failed++;
  console.log(JSON.stringify(ok ? { id: h["webhook-id"], ok } : { id: h["webhook-id"], ok, error: `no v1a signature verifies (${signatures.length} present)` }));
}
process.exit(failed === 0 ? 0 : 1);
