// Carebooth fleet page, for admins: every device with its latest heartbeat (GET
// /api/v1/devices), the booths waiting with an activation code (GET /api/v1/enrolments), and
// a form to approve one (POST /api/v1/enrolments/approve).
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
    return tr;
  });
  ui.body.replaceChildren(...rows);
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
    const [devs, pend] = await Promise.all([api("GET", "/devices"), api("GET", "/enrolments")]);
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
