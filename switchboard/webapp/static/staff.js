// Carebooth staff station (docs/staff-station.md): the site's devices with their live
// state, and an alert with a sound when a booth's Help button is pressed.
//
// It opens the clinician's signalling WebSocket (/api/v1/signal, package signalling) with
// hello.staff set, and the switchboard pushes a "devices" message, the whole view of the
// site, on connecting and whenever a device changes: nothing here polls. "I'm coming" is
// POST /api/v1/devices/{id}/help/acknowledge; the booth then shows and says that help is
// coming, and every staff station sees who is coming from the next devices message.
//
// Sound: browsers let a page play audio only after a user gesture, so the page has a
// "Turn on alert sound" button; until it is pressed an alert is shown and announced but
// silent, and the page says so. The beep is made with the Web Audio API (no sound file).
// Every beep played bumps data-alert-sounds on <body>, for tests and for support.
//
// Names from the server are set with textContent only, never parsed as markup.

const API = "/api/v1";
const PROTOCOL_VERSION = 1;
const AGENT = "carebooth staff station";
const BACKOFF_MIN_MS = 500;
const BACKOFF_MAX_MS = 15000;
// REPEAT_MS is how often the alert sounds again while a help request nobody has said
// they are coming to stands.
const REPEAT_MS = 15000;

// The states of signalling.BoothState as the switchboard derives them for the staff view.
const STATE_LABELS = {
  idle: "Idle",
  waiting: "Patient waiting",
  in_call: "In a call",
  help: "Help requested",
  fault: "Fault",
  offline: "Offline",
};

const $ = (id) => {
  const node = document.getElementById(id);
  if (!node) throw new Error(`carebooth: element #${id} is missing from staff.html`);
  return node;
};

const ui = {
  status: $("staff-status"),
  soundButton: $("sound-button"),
  soundState: $("sound-state"),
  announce: $("alert-announce"),
  noAlerts: $("no-alerts"),
  alerts: $("alert-list"),
  devices: $("device-body"),
};

const state = {
  socket: null,
  sendSeq: 0,
  recvSeq: 0,
  retries: 0,
  retryTimer: 0,
  view: null, // the latest devices message body
  alerted: new Set(), // device IDs whose current help request has sounded
  audio: null, // AudioContext, once sound is turned on
  repeatTimer: 0,
  busy: new Set(), // device IDs whose acknowledgement is in flight
};

async function api(method, path) {
  const res = await fetch(API + path, { method, credentials: "same-origin", headers: { Accept: "application/json" } });
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

function setStatus(text) {
  ui.status.textContent = text;
}

// ---- Signalling -------------------------------------------------------------------------

function signalURL() {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${location.host}${API}/signal`;
}

function connect() {
  const ws = new WebSocket(signalURL());
  state.socket = ws;
  state.sendSeq = 0;
  state.recvSeq = 0;
  ws.addEventListener("open", () => {
    if (ws !== state.socket) return;
    send("hello", { role: "clinician", agent: AGENT, staff: true });
  });
  ws.addEventListener("message", (event) => {
    if (ws === state.socket) onSignal(event.data);
  });
  ws.addEventListener("close", (event) => {
    if (ws !== state.socket) return;
    state.socket = null;
    console.warn(`carebooth: signalling closed (code ${event.code}${event.reason ? `, ${event.reason}` : ""})`);
    scheduleReconnect();
  });
}

function send(type, body) {
  const ws = state.socket;
  if (!ws || ws.readyState !== WebSocket.OPEN) return 0;
  state.sendSeq += 1;
  ws.send(JSON.stringify({ v: PROTOCOL_VERSION, type, seq: state.sendSeq, body }));
  return state.sendSeq;
}

async function scheduleReconnect() {
  state.retries += 1;
  setStatus("Connection to the switchboard lost. Reconnecting… The list below may be out of date.");
  document.body.dataset.connected = "false";
  // A refused upgrade looks like any other drop; ask whether the session is still good.
  if (state.retries >= 2) {
    try {
      await api("GET", "/me");
    } catch (err) {
      if (err.status === 401) {
        loggedOut();
        return;
      }
    }
  }
  const base = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** (state.retries - 1));
  clearTimeout(state.retryTimer);
  state.retryTimer = setTimeout(connect, base / 2 + Math.random() * (base / 2));
}

function loggedOut() {
  ui.status.replaceChildren("You are not logged in. ");
  const a = document.createElement("a");
  a.href = "./";
  a.textContent = "Log in on the main page";
  ui.status.append(a, ", then come back to this page.");
}

function onSignal(data) {
  let msg;
  try {
    msg = JSON.parse(data);
  } catch {
    console.warn("carebooth: signalling message is not JSON");
    return;
  }
  if (!msg || typeof msg !== "object" || msg.v !== PROTOCOL_VERSION) return;
  if (!(Number.isInteger(msg.seq) && msg.seq > state.recvSeq)) return;
  state.recvSeq = msg.seq;
  const body = msg.body && typeof msg.body === "object" ? msg.body : {};
  switch (msg.type) {
    case "welcome":
      state.retries = 0;
      document.body.dataset.connected = "true";
      setStatus(body.clinic_name ? `Connected: ${body.clinic_name}.` : "Connected.");
      if (!body.clinic_id) setStatus("Connected as a fleet admin: every site's devices are shown.");
      break;
    case "devices":
      onDevices(body);
      break;
    case "error":
      console.warn(`carebooth: switchboard error ${body.code} (ref ${body.ref || 0}): ${body.message}`);
      break;
    case "queue":
    case "help":
      break; // the devices message says all the staff station shows
    default:
      console.warn(`carebooth: unexpected ${msg.type} message ignored`);
  }
}

// ---- The view ---------------------------------------------------------------------------

function onDevices(body) {
  const devices = Array.isArray(body.devices) ? body.devices : [];
  state.view = devices;
  renderDevices(devices);
  const standing = devices.filter((d) => d.help);
  renderAlerts(standing);

  // A request that stands no more may sound again when it is made again.
  const ids = new Set(standing.map((d) => d.id));
  for (const id of state.alerted) if (!ids.has(id)) state.alerted.delete(id);
  const fresh = standing.filter((d) => !state.alerted.has(d.id) && !d.help.acknowledged_by);
  for (const d of fresh) state.alerted.add(d.id);
  if (fresh.length > 0) {
    const names = fresh.map((d) => placeOf(d)).join(", ");
    ui.announce.textContent = `Help needed: ${names}.`;
    document.body.dataset.alertsRaised = String(Number(document.body.dataset.alertsRaised || 0) + fresh.length);
    document.body.dataset.lastAlertAt = String(Date.now()); // for latency figures
    beep();
  }
  scheduleRepeat(standing);
}

function placeOf(d) {
  return d.room ? `${d.name} (${d.room})` : d.name;
}

function renderDevices(devices) {
  const rows = devices.map((d) => {
    const tr = document.createElement("tr");
    tr.className = `state-${d.state}`;
    tr.dataset.device = d.id;
    tr.dataset.state = d.state;
    for (const text of [d.name, d.room || ""]) {
      const td = document.createElement("td");
      td.textContent = text;
      tr.append(td);
    }
    const td = document.createElement("td");
    td.className = "state";
    td.textContent = STATE_LABELS[d.state] || d.state;
    if (d.state === "fault" && d.problem) td.textContent += `: ${d.problem}`;
    tr.append(td);
    return tr;
  });
  ui.devices.replaceChildren(...rows);
}

function renderAlerts(standing) {
  ui.noAlerts.hidden = standing.length > 0;
  const items = standing.map((d) => {
    const li = document.createElement("li");
    li.dataset.device = d.id;
    const text = document.createElement("p");
    text.className = "alert-text";
    const acked = d.help.acknowledged_by;
    text.textContent = `${placeOf(d)} needs help`;
    const detail = document.createElement("span");
    detail.className = "alert-detail";
    detail.dataset.testid = "alert-detail";
    const since = new Date(d.help.since);
    const at = Number.isNaN(since.getTime()) ? "" : ` at ${since.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })}`;
    detail.textContent = acked
      ? `Acknowledged by ${acked}: they are on their way.`
      : `Asked${at}. Nobody has said they are coming yet.${d.state === "offline" ? " The booth is offline now." : ""}`;
    text.append(detail);
    li.append(text);
    if (acked) {
      li.classList.add("acknowledged");
      li.dataset.acknowledgedBy = acked;
    } else {
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = "I'm coming";
      button.setAttribute("aria-label", `I'm coming to ${placeOf(d)}`);
      button.disabled = state.busy.has(d.id);
      button.addEventListener("click", () => acknowledge(d));
      li.append(button);
    }
    return li;
  });
  // Keep the focused button's place: replacing it would throw keyboard users back to the top.
  const focused = document.activeElement?.closest?.("#alert-list li")?.dataset.device;
  ui.alerts.replaceChildren(...items);
  if (focused) ui.alerts.querySelector(`li[data-device="${CSS.escape(focused)}"] button`)?.focus();
}

async function acknowledge(d) {
  state.busy.add(d.id);
  renderAlerts((state.view || []).filter((x) => x.help));
  try {
    await api("POST", `/devices/${encodeURIComponent(d.id)}/help/acknowledge`);
    ui.announce.textContent = `You said you are coming to ${placeOf(d)}.`;
  } catch (err) {
    ui.announce.textContent =
      err.status === 409 ? `${placeOf(d)} no longer needs help.` : err.status === 401 ? "You are not logged in." : `Could not acknowledge: ${err.message}`;
    if (err.status === 401) loggedOut();
  } finally {
    state.busy.delete(d.id);
    renderAlerts((state.view || []).filter((x) => x.help));
  }
}

// ---- Sound ------------------------------------------------------------------------------

function soundOn() {
  return state.audio !== null && state.audio.state === "running";
}

function showSound() {
  const on = soundOn();
  ui.soundButton.setAttribute("aria-pressed", String(on));
  ui.soundButton.textContent = on ? "Test alert sound" : "Turn on alert sound";
  ui.soundState.textContent = on ? "Alert sound is on." : "Alert sound is off: press the button to hear alerts.";
  document.body.dataset.sound = on ? "on" : "off";
}

async function turnOnSound() {
  try {
    if (!state.audio) state.audio = new AudioContext();
    await state.audio.resume();
  } catch (err) {
    ui.soundState.textContent = `This browser cannot play the alert sound: ${err.message}`;
    return;
  }
  showSound();
  beep();
}

// beep plays two short tones, if sound is on.
function beep() {
  if (!soundOn()) return;
  const ctx = state.audio;
  const t = ctx.currentTime;
  for (const [start, freq] of [[0, 880], [0.3, 660]]) {
    const osc = ctx.createOscillator();
    const gain = ctx.createGain();
    osc.frequency.value = freq;
    gain.gain.setValueAtTime(0.0001, t + start);
    gain.gain.exponentialRampToValueAtTime(0.4, t + start + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, t + start + 0.25);
    osc.connect(gain).connect(ctx.destination);
    osc.start(t + start);
    osc.stop(t + start + 0.3);
  }
  document.body.dataset.alertSounds = String(Number(document.body.dataset.alertSounds || 0) + 1);
}

function scheduleRepeat(standing) {
  clearInterval(state.repeatTimer);
  state.repeatTimer = 0;
  if (standing.some((d) => !d.help.acknowledged_by)) state.repeatTimer = setInterval(beep, REPEAT_MS);
}

// ---- Start ------------------------------------------------------------------------------

async function start() {
  ui.soundButton.addEventListener("click", turnOnSound);
  showSound();
  try {
    const me = await api("GET", "/me");
    if (!me?.clinician) {
      setStatus("This page is for staff: log in with a staff account.");
      return;
    }
  } catch (err) {
    if (err.status === 401) {
      loggedOut();
      return;
    }
    setStatus(`Could not reach the switchboard: ${err.message}. Reload the page to try again.`);
    return;
  }
  connect();
}

start();
