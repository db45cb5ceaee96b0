// SecMon's page: plain JavaScript, no build step. Every value from the API is put in the page as text (textContent),
// never as HTML. The API key stays in this tab (sessionStorage) and goes in the Authorization header.
"use strict";

const KEY = "secmon.apikey";
const $ = (id) => document.getElementById(id);
const state = { cursors: [], next: null, selected: null, rules: null, devicesNext: null };

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v);
  }
  for (const c of children) {
    if (c === null || c === undefined) continue;
    e.append(c instanceof Node ? c : String(c));
  }
  return e;
}

class ApiError extends Error {
  constructor(status, detail) { super(detail); this.status = status; }
}

async function api(path, options) {
  const key = sessionStorage.getItem(KEY);
  if (!key) { showGate(); throw new ApiError(401, "no API key"); }
  const init = Object.assign({ headers: {} }, options || {});
  init.headers = Object.assign({ Authorization: "Bearer " + key, Accept: "application/json" }, init.headers);
  if (init.body && typeof init.body !== "string") {
    init.body = JSON.stringify(init.body);
    init.headers["Content-Type"] = "application/json";
  }
  const response = await fetch(path, init);
  const text = await response.text();
  let body = null;
  try { body = text ? JSON.parse(text) : null; } catch { body = null; }
  if (response.status === 401) { sessionStorage.removeItem(KEY); showGate("The key was refused (unknown, revoked or expired)."); }
  if (!response.ok) {
    const detail = (body && (body.detail || body.title)) || text || response.statusText;
    const extra = body && body.errors ? "\n" + body.errors.join("\n") : "";
    throw new ApiError(response.status, `${response.status}: ${detail}${extra}`);
  }
  return body;
}

function showGate(message) {
  $("gate").hidden = false;
  $("tabs").hidden = true;
  $("signout").hidden = true;
  for (const s of document.querySelectorAll("section.tab")) s.hidden = true;
  $("gate-error").textContent = message || "";
}

function showTab(name) {
  $("gate").hidden = true;
  $("tabs").hidden = false;
  $("signout").hidden = false;
  for (const s of document.querySelectorAll("section.tab")) s.hidden = s.id !== name;
  for (const b of document.querySelectorAll("nav button")) b.classList.toggle("active", b.dataset.tab === name);
  if (name === "devices") loadDevices();
  if (name === "plan") loadPlan();
  if (name === "rules") loadRules();
}

// ---- Findings ----

function get(doc, path) {
  let v = doc;
  for (const part of path.split(".")) {
    if (v === null || v === undefined) return undefined;
    v = v[part] !== undefined ? v[part] : undefined;
  }
  if (v === undefined && doc && doc[path] !== undefined) return doc[path];
  return v;
}

function severityName(f) {
  const s = get(f, "event.severity");
  return s >= 99 ? "critical" : s >= 73 ? "high" : s >= 47 ? "medium" : "low";
}

function searchParams() {
  const p = new URLSearchParams();
  for (const id of ["q", "severity", "rule", "device", "since"]) {
    const v = $(id).value.trim();
    if (v) p.set(id, v);
  }
  p.set("limit", $("limit").value);
  return p;
}

async function search(cursor) {
  const p = searchParams();
  if (cursor) p.set("cursor", cursor);
  $("status").textContent = "Searching…";
  $("status").classList.remove("error");
  const started = performance.now();
  let page;
  try {
    page = await api("/api/v1/findings?" + p.toString());
  } catch (e) {
    $("status").textContent = e.message;
    $("status").classList.add("error");
    return;
  }
  renderResults(page.items);
  state.next = page.next;
  $("older").disabled = !page.next;
  $("newer").disabled = state.cursors.length === 0;
  $("first").disabled = state.cursors.length === 0;
  $("page").textContent = `Page ${state.cursors.length + 1}`;
  const ms = Math.round(performance.now() - started);
  $("status").textContent = `${page.items.length} finding(s)${page.next ? ", more on the next page" : ""} (${ms} ms)`;
}

function renderResults(items) {
  const body = document.createDocumentFragment();
  for (const item of items) {
    const f = item.finding;
    const sev = severityName(f);
    const client = [get(f, "source.ip"), get(f, "source.port")].filter((x) => x !== undefined).join(":");
    const server = [get(f, "destination.ip"), get(f, "destination.port")].filter((x) => x !== undefined).join(":");
    const row = el("tr", { "data-id": item.id },
      el("td", { class: "mono" }, (get(f, "@timestamp") || "").replace("T", " ").replace("Z", "")),
      el("td", { class: "sev sev-" + sev }, sev),
      el("td", { class: "mono" }, get(f, "rule.id") || ""),
      el("td", { class: "msg" }, get(f, "message") || get(f, "rule.name") || ""),
      el("td", { class: "mono" }, get(f, "device.id") || ""),
      el("td", { class: "mono" }, client || server ? `${client} → ${server}` : ""),
      el("td", {}, item.workflow ? item.workflow.state : "open"));
    row.addEventListener("click", () => showFinding(item.id, row));
    body.append(row);
  }
  const tbody = $("results").tBodies[0];
  tbody.replaceChildren(body);
}

function flatten(value, prefix, out) {
  if (value !== null && typeof value === "object" && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value)) flatten(v, prefix ? prefix + "." + k : k, out);
  } else {
    out.push([prefix, Array.isArray(value) ? value.map((x) => (typeof x === "object" ? JSON.stringify(x) : x)).join(", ") : value]);
  }
  return out;
}

async function showFinding(id, row) {
  for (const r of $("results").tBodies[0].rows) r.classList.toggle("selected", r === row);
  const detail = $("detail");
  detail.hidden = false;
  detail.replaceChildren(el("p", { class: "status" }, "Loading…"));
  let item;
  try { item = await api("/api/v1/findings/" + encodeURIComponent(id)); } catch (e) {
    detail.replaceChildren(el("p", { class: "error" }, e.message));
    return;
  }
  state.selected = item;
  const f = item.finding;
  const wf = item.workflow;
  const actions = el("div", { class: "actions" },
    el("button", { type: "button", onclick: () => workflow(id, { action: "acknowledge" }) }, "Acknowledge"),
    el("button", { type: "button", onclick: () => { const who = prompt("Assign to whom?"); if (who) workflow(id, { action: "assign", assignee: who }); } }, "Assign…"),
    el("button", { type: "button", onclick: () => { const why = prompt("Why is it closed?"); if (why) workflow(id, { action: "close", reason: why }); } }, "Close…"));
  const fields = el("table", {}, el("tbody", {}, ...flatten(f, "", []).map(([k, v]) => el("tr", {}, el("td", {}, k), el("td", { class: "mono" }, v === null ? "null" : String(v))))));
  const ruleId = get(f, "rule.id");
  const rule = el("div", {}, el("p", { class: "status" }, "…"));
  const others = el("div", {}, el("p", { class: "status" }, "…"));
  detail.replaceChildren(
    el("h2", {}, get(f, "message") || ruleId || id),
    el("p", {}, el("span", { class: "sev sev-" + severityName(f) }, severityName(f)), " · ", el("span", { class: "mono" }, id)),
    el("p", { id: "workflow" }, wf ? `State: ${wf.state}${wf.assignee ? " (" + wf.assignee + ")" : ""}${wf.reason ? ": " + wf.reason : ""}, by ${wf.by} at ${wf.at}` : "State: open"),
    actions,
    el("h3", {}, "Rule"), rule,
    el("h3", {}, "Fields (ECS)"), fields,
    el("h3", {}, "The device's other findings"), others);
  describeRule(ruleId, get(f, "rule.description"), rule);
  deviceFindings(get(f, "device.id"), id, others);
}

async function describeRule(ruleId, description, target) {
  const text = el("p", { class: "rule-text" }, description || "");
  try {
    if (!state.rules) state.rules = (await api("/api/v1/rules")).items;
    const r = state.rules.find((x) => x.id === ruleId);
    target.replaceChildren(r
      ? el("p", {}, el("b", {}, r.id), ` ${r.name || ""} (${r.severity || ""}, ${r.kind || ""}; ${r.file || ""}:${r.line || ""}); `, r.enabled ? "runs" : "switched off")
      : el("p", { class: "status" }, `${ruleId}: not in the packs loaded now`), text);
  } catch (e) { target.replaceChildren(el("p", { class: "error" }, e.message), text); }
}

async function deviceFindings(device, except, target) {
  if (!device) { target.replaceChildren(el("p", { class: "status" }, "No device on this finding.")); return; }
  try {
    const page = await api("/api/v1/findings?limit=20&device=" + encodeURIComponent(device));
    const rows = page.items.filter((i) => i.id !== except);
    target.replaceChildren(rows.length === 0 ? el("p", { class: "status" }, "None.") :
      el("ul", {}, ...rows.map((i) => el("li", {}, el("a", { href: "#", onclick: (ev) => { ev.preventDefault(); showFinding(i.id, null); } },
        `${get(i.finding, "@timestamp") || ""} ${get(i.finding, "rule.id") || ""} ${get(i.finding, "message") || ""}`)))));
  } catch (e) { target.replaceChildren(el("p", { class: "error" }, e.message)); }
}

async function workflow(id, body) {
  try {
    await api("/api/v1/findings/" + encodeURIComponent(id) + "/workflow", { method: "POST", body });
    const row = [...$("results").tBodies[0].rows].find((r) => r.dataset.id === id) || null;
    if (row) row.cells[6].textContent = body.action === "acknowledge" ? "acknowledged" : body.action === "assign" ? "assigned" : "closed";
    showFinding(id, row);
  } catch (e) { alert(e.message); }
}

// ---- Devices ----

async function loadDevices(cursor) {
  $("devices-status").textContent = "Loading…";
  $("devices-more").hidden = true;
  try {
    const page = await api("/api/v1/devices" + (cursor ? "?cursor=" + encodeURIComponent(cursor) : ""));
    const rows = page.items.map((d) => el("tr", {},
      el("td", { class: "mono" }, d.id),
      el("td", {}, d.vendor || ""),
      el("td", { class: "posture-" + (d.current_auth || d.auth) }, d.current_auth || d.auth || "unknown"),
      el("td", { class: "mono" }, [...(d.client_ids || []), ...(d.usernames || []).map((u) => "user " + u)].join(", ")),
      el("td", {}, (d.certificates || []).length),
      el("td", {}, `${d.findings_count || 0}${d.max_severity ? " (" + d.max_severity + ")" : ""}`),
      el("td", { class: "mono" }, (d.last_seen || "").replace("T", " ").replace("Z", ""))));
    const body = $("device-table").tBodies[0];
    if (cursor) body.append(...rows); else body.replaceChildren(...rows);
    state.devicesNext = page.next;
    $("devices-more").hidden = !page.next;
    $("devices-status").textContent = `${body.rows.length} of ${page.total} device(s), weakest posture first`;
  } catch (e) { $("devices-status").textContent = e.message; }
}

// ---- Hardening plan ----

async function loadPlan() {
  $("plan-status").textContent = "Loading…";
  try {
    const { items } = await api("/api/v1/hardening/plan");
    const body = [];
    let table = null;
    for (const item of items) {
      if (item.kind === "broker") {
        body.push(el("h3", {}, `Broker ${item.broker}: ${item.summary}`));
        table = el("table", {}, el("thead", {}, el("tr", {}, ...["Device", "Certificate name", "Posture", "Needs", "Last seen (UTC)", ""].map((h) => el("th", {}, h)))), el("tbody"));
        body.push(table);
      } else if (table) {
        const result = el("div", { class: "status" });
        table.tBodies[0].append(el("tr", { "data-device": item.device_id },
          el("td", { class: "mono" }, item.device_id),
          el("td", { class: "mono" }, item.identity),
          el("td", { class: "posture-" + item.posture }, item.posture),
          el("td", {}, (item.needs || []).join(", ")),
          el("td", { class: "mono" }, (item.last_seen || "").replace("T", " ").replace("Z", "")),
          el("td", {},
            el("div", { class: "actions" },
              el("button", { type: "button", class: "token", onclick: () => createToken(item) }, "Create enrolment token"),
              el("button", { type: "button", class: "revoke", onclick: () => revoke(item) }, "Revoke certificates")),
            result)));
      }
    }
    $("plan-body").replaceChildren(...body);
    $("plan-status").textContent = items.length === 0 ? "Nothing to do: no broker seen yet, or every device is on mutual TLS." : "";
  } catch (e) { $("plan-status").textContent = e.message; }
}

function dialog(title, ...content) {
  $("dialog-title").textContent = title;
  $("dialog-body").replaceChildren(...content);
  $("dialog").showModal();
}

async function createToken(item) {
  try {
    const t = await api("/api/v1/enrollment-tokens", { method: "POST", body: { identity: item.identity } });
    dialog(`Enrolment token for ${t.identity}`,
      el("p", {}, `Shown once; valid until ${t.expires} (UTC). On the device:`),
      el("pre", { id: "token-command" }, t.enroll_command),
      el("p", {}, "Token id (to revoke it): ", el("span", { class: "mono" }, t.token_id)));
  } catch (e) { dialog("No token", el("p", { class: "error" }, e.message)); }
}

async function revoke(item) {
  if (!confirm(`Revoke every certificate of ${item.identity}? The device can no longer connect with them.`)) return;
  try {
    const r = await api("/api/v1/certificates/" + encodeURIComponent(item.identity) + "/revoke", { method: "POST", body: {} });
    dialog(`Certificates of ${r.identity}`,
      el("p", {}, `${r.revoked.length} certificate(s) revoked${r.already_revoked ? `, ${r.already_revoked} already` : ""}; CRL number ${r.crl_number}.`),
      el("ul", {}, ...r.revoked.map((s) => el("li", { class: "mono" }, s))));
  } catch (e) { dialog("Nothing revoked", el("p", { class: "error" }, e.message)); }
}

// ---- Rules ----

async function loadRules() {
  $("rules-status").textContent = "Loading…";
  try {
    const data = await api("/api/v1/rules");
    state.rules = data.items;
    $("rule-table").tBodies[0].replaceChildren(...data.items.map((r) => el("tr", {},
      el("td", { class: "mono" }, r.id), el("td", {}, r.name || ""), el("td", {}, r.severity || ""), el("td", {}, r.kind || ""),
      el("td", { class: "mono" }, `${r.file || ""}:${r.line || ""}`), el("td", {}, r.enabled ? "yes" : `no (${r.disabled_by || "off"})`),
      el("td", {}, el("button", { type: "button", onclick: () => toggleRule(r) }, r.enabled ? "Switch off" : "Switch on")))));
    $("rules-status").textContent = `${data.running} rule(s) running`;
  } catch (e) { $("rules-status").textContent = e.message; }
}

async function toggleRule(r) {
  try {
    await api(`/api/v1/rules/${encodeURIComponent(r.id)}/${r.enabled ? "disable" : "enable"}`, { method: "POST" });
    loadRules();
  } catch (e) { alert(e.message); }
}

async function reload() {
  try {
    const r = await api("/api/v1/rules/reload", { method: "POST" });
    $("rules-status").textContent = `Reloaded: ${r.running} rule(s) running`;
    state.rules = null;
    loadRules();
  } catch (e) { $("rules-status").textContent = e.message; }
}

// ---- Wiring ----

document.addEventListener("DOMContentLoaded", () => {
  $("gate-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    sessionStorage.setItem(KEY, $("gate-key").value.trim());
    $("gate-key").value = "";
    try {
      await api("/api/v1/stats?top=0");
      showTab("findings");
      search(null);
    } catch (e) { if (e.status !== 401) showGate(e.message); }
  });
  $("signout").addEventListener("click", () => { sessionStorage.removeItem(KEY); showGate(); });
  for (const b of document.querySelectorAll("nav button")) b.addEventListener("click", () => showTab(b.dataset.tab));
  $("search").addEventListener("submit", (ev) => { ev.preventDefault(); state.cursors = []; search(null); });
  $("devices-more").addEventListener("click", () => loadDevices(state.devicesNext));
  $("older").addEventListener("click", () => { state.cursors.push(state.current || null); state.current = state.next; search(state.next); });
  $("newer").addEventListener("click", () => { state.current = state.cursors.pop() || null; search(state.current); });
  $("first").addEventListener("click", () => { state.cursors = []; state.current = null; search(null); });
  $("reload").addEventListener("click", reload);
  if (sessionStorage.getItem(KEY)) { showTab("findings"); search(null); } else { showGate(); }
});
