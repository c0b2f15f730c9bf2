// Carebooth fleet page, for admins: every device with its latest heartbeat (GET
// /api/v1/devices), the booths waiting with an activation code (GET /api/v1/enrolments), a
// form to approve one (POST /api/v1/enrolments/approve), a device's self-test and recent
// log on request (POST /api/v1/devices/{id}/selftest, GET .../logs), revocation (POST
// .../revoke, confirmed by a second press), and the recent audit log (GET /api/v1/audit).
//
// It polls every few seconds rather than using the clinicians' WebSocket: the fleet is a
// short list, a heartbeat comes every 30 s anyway, and polling needs no new signalling
// message, survives a switchboard restart by itself, and stops with the tab. Names from the
// server are set with textContent only, never parsed as markup.

const API = "/api/v1";
const POLL_MS = 3000;

const $ = (id) => {
  const node = document.getElementById(id);
  if (!node) throw new Error(`carebooth: element #${id} is missing from fleet.html`);
  return node;
};

const ui = {
  status: $("fleet-status"),
  body: $("fleet-body"),
  pending: $("pending-body"),
  form: $("approve-form"),
  code: $("approve-code"),
  site: $("approve-site"),
  room: $("approve-room"),
  role: $("approve-role"),
  approveStatus: $("approve-status"),
  panel: $("device-panel"),
  panelHeading: $("device-panel-heading"),
  panelStatus: $("device-panel-status"),
  selftestTable: $("selftest-table"),
  selftestBody: $("selftest-body"),
  logs: $("logs-text"),
  audit: $("audit-body"),
};

// CONFIRM_MS is how long a first press of Revoke waits for the second.
const CONFIRM_MS = 8000;
// AUDIT_KEEP is how many audit entries the page shows.
const AUDIT_KEEP = 50;

const state = {
  armed: "", // the device whose Revoke was pressed once
  armedAt: 0,
  busy: "", // the device a self-test or log request is waiting on
  auditAfter: 0, // the seq of the newest audit entry fetched
  auditEntries: [],
};

async function api(method, path, body) {
  const opts = { method, credentials: "same-origin", headers: { Accept: "application/json" } };
  if (body !== undefined) {
    opts.headers["Content-Type"] = "application/json";
    opts.body = JSON.stringify(body);
  }
  const res = await fetch(API + path, opts);
  let data = null;
  try {
    data = await res.json();
  } catch {
    // not JSON: handled below
  }
  if (!res.ok) {
    const err = new Error(data?.error?.message || `the switchboard answered ${res.status}`);
    err.status = res.status;
    throw err;
  }
  return data;
}

function cell(row, text) {
  const td = document.createElement("td");
  td.textContent = text;
  row.append(td);
  return td;
}

const yesNo = (b) => (b ? "yes" : "no");

function diskText(n) {
  if (n === undefined || n === null) return "–";
  return n >= 2 ** 30 ? `${(n / 2 ** 30).toFixed(1)} GiB` : `${Math.floor(n / 2 ** 20)} MiB`;
}

function renderDevices(devices) {
  const rows = devices.map((d) => {
    const tr = document.createElement("tr");
    tr.dataset.deviceId = d.id;
    const hb = d.health?.heartbeat;
    cell(tr, d.name);
    cell(tr, d.clinic_id);
    cell(tr, d.room || "–");
    cell(tr, hb ? (d.online ? hb.state : "offline") : "–").dataset.testid = "device-state";
    cell(tr, d.online ? "online" : d.last_seen ? `seen ${new Date(d.last_seen).toLocaleString("en-GB")}` : "never");
    cell(tr, hb?.version || "–").dataset.testid = "device-version";
    cell(tr, hb ? `${yesNo(hb.camera)} / ${yesNo(hb.microphone)} / ${yesNo(hb.speaker)}` : "–");
    cell(tr, hb?.temp_celsius !== undefined && hb ? `${hb.temp_celsius.toFixed(1)} °C` : "–").dataset.testid = "device-temp";
    cell(tr, diskText(hb?.disk_free_bytes));
    const cfg = d.config_error ? `${d.config_version || "?"}: refused: ${d.config_error}` : d.config_version || hb?.config_version || "–";
    cell(tr, cfg);
    tr.append(actions(d));
    return tr;
  });
  ui.body.replaceChildren(...rows);
}

function button(text, action, d, testid) {
  const b = document.createElement("button");
  b.type = "button";
  b.className = "btn btn-secondary btn-small";
  b.textContent = text;
  b.dataset.action = action;
  b.dataset.deviceId = d.id;
  b.dataset.deviceName = d.name;
  b.dataset.testid = testid;
  return b;
}

// actions are a device's buttons; a revoked device has none.
function actions(d) {
  const td = document.createElement("td");
  if (d.revoked) {
    td.textContent = `revoked by ${d.revoked.by}`;
    td.dataset.testid = "device-revoked";
    return td;
  }
  const waiting = state.busy !== "";
  const test = button("Self-test", "selftest", d, "selftest-button");
  const logs = button("Logs", "logs", d, "logs-button");
  test.disabled = logs.disabled = waiting || !d.online;
  if (!d.online) test.title = logs.title = "The device answers only while it is online";
  const armed = state.armed === d.id && Date.now() - state.armedAt < CONFIRM_MS;
  const revoke = button(armed ? "Press again to revoke" : "Revoke…", "revoke", d, "revoke-button");
  revoke.className = "btn btn-danger btn-small";
  td.append(test, " ", logs, " ", revoke);
  return td;
}

function showPanel(name, status) {
  ui.panel.hidden = false;
  ui.panelHeading.textContent = name;
  ui.panelStatus.textContent = status;
}

async function selfTest(id, name) {
  showPanel(`Self-test of ${name}`, "Running the self-test: the device opens its camera and microphone…");
  ui.logs.hidden = true;
  ui.selftestTable.hidden = true;
  try {
    const r = await api("POST", `/devices/${encodeURIComponent(id)}/selftest`);
    const rows = (r.checks || []).map((c) => {
      const tr = document.createElement("tr");
      tr.dataset.check = c.name;
      cell(tr, c.name);
      cell(tr, c.ok ? "ok" : "FAILED").dataset.state = c.ok ? "ok" : "failed";
      cell(tr, `${Math.round(c.took_ms)} ms`);
      cell(tr, c.detail || "");
      return tr;
    });
    ui.selftestBody.replaceChildren(...rows);
    ui.selftestTable.hidden = false;
    const failed = (r.checks || []).filter((c) => !c.ok).length;
    ui.panelStatus.textContent = r.error
      ? `The device ran no checks: ${r.error}`
      : failed === 0
        ? `All ${rows.length} checks passed.`
        : `${failed} of ${rows.length} checks failed.`;
  } catch (err) {
    ui.panelStatus.textContent = `No self-test: ${err.message}`;
  }
}

async function showLogs(id, name) {
  showPanel(`Recent log of ${name}`, "Asking the device for its log…");
  ui.selftestTable.hidden = true;
  try {
    const r = await api("GET", `/devices/${encodeURIComponent(id)}/logs?lines=200`);
    ui.logs.textContent = (r.lines || []).map((l) => l.text).join("\n");
    ui.logs.hidden = false;
    ui.panelStatus.textContent = `${(r.lines || []).length} lines, oldest first.`;
  } catch (err) {
    ui.panelStatus.textContent = `No log: ${err.message}`;
  }
}

async function revoke(id, name) {
  if (state.armed !== id || Date.now() - state.armedAt >= CONFIRM_MS) {
    state.armed = id;
    state.armedAt = Date.now();
    showPanel(`Revoke ${name}?`, "Press the button again to revoke it: its call ends at once and it can never connect again with its key.");
    refresh();
    return;
  }
  state.armed = "";
  try {
    const r = await api("POST", `/devices/${encodeURIComponent(id)}/revoke`, { reason: "revoked from the fleet page" });
    showPanel(`Revoked ${name}`, `${name} is revoked; ${r.disconnected} connection(s) closed.`);
  } catch (err) {
    showPanel(`Revoke ${name}`, `Not revoked: ${err.message}`);
  }
  refresh();
}

ui.body.addEventListener("click", async (ev) => {
  const b = ev.target.closest("button[data-action]");
  if (!b || b.disabled) return;
  const { action, deviceId, deviceName } = b.dataset;
  if (action === "revoke") return revoke(deviceId, deviceName);
  state.busy = deviceId;
  refresh();
  try {
    await (action === "selftest" ? selfTest(deviceId, deviceName) : showLogs(deviceId, deviceName));
  } finally {
    state.busy = "";
    refresh();
  }
});

// refreshAudit fetches the entries after the newest one seen (the last 24 hours at
// first, page by page) and shows the newest AUDIT_KEEP.
async function refreshAudit() {
  for (let pages = 0; pages < 20; pages++) {
    const q = state.auditAfter ? `after=${state.auditAfter}` : "since=24h";
    const r = await api("GET", `/audit?${q}&limit=500`);
    const es = r.entries || [];
    if (es.length > 0) {
      state.auditAfter = es[es.length - 1].seq;
      state.auditEntries = state.auditEntries.concat(es).slice(-AUDIT_KEEP);
    }
    if (!r.next_after) break;
  }
  const rows = state.auditEntries
    .slice()
    .reverse()
    .map((e) => {
      const tr = document.createElement("tr");
      tr.dataset.action = e.action;
      cell(tr, new Date(e.at).toLocaleString("en-GB"));
      cell(tr, e.actor || e.actor_kind);
      cell(tr, e.action);
      cell(tr, e.target || "–");
      cell(tr, e.addr || "–");
      cell(tr, e.detail || "");
      return tr;
    });
  ui.audit.replaceChildren(...rows);
}

function renderPending(pending) {
  const rows = pending.map((p) => {
    const tr = document.createElement("tr");
    cell(tr, p.code);
    cell(tr, p.name);
    cell(tr, p.version || "–");
    cell(tr, p.key_fingerprint || "–");
    return tr;
  });
  ui.pending.replaceChildren(...rows);
}

async function refresh() {
  try {
    const [devs, pend] = await Promise.all([api("GET", "/devices"), api("GET", "/enrolments"), refreshAudit()]);
    renderDevices(devs.devices || []);
    renderPending(pend.enrolments || pend.pending || []);
    ui.status.textContent = `${(devs.devices || []).length} devices; updated ${new Date().toLocaleTimeString("en-GB")}`;
    ui.status.dataset.state = "";
  } catch (err) {
    ui.status.textContent =
      err.status === 401 ? "Log in to the web app first." : err.status === 403 ? "This page is for admins." : `Could not load the fleet: ${err.message}`;
    ui.status.dataset.state = "error";
  }
}

ui.form.addEventListener("submit", async (ev) => {
  ev.preventDefault();
  ui.approveStatus.textContent = "Approving…";
  try {
    const d = await api("POST", "/enrolments/approve", {
      code: ui.code.value.trim(),
      site: ui.site.value.trim(),
      room: ui.room.value.trim(),
      role: ui.role.value,
    });
    ui.approveStatus.textContent = `Enrolled ${d.name || d.device?.name || ""} (${d.id || d.device?.id || ""}).`;
    ui.form.reset();
    refresh();
  } catch (err) {
    ui.approveStatus.textContent = `Not approved: ${err.message}`;
  }
});

refresh();
setInterval(refresh, POLL_MS);
