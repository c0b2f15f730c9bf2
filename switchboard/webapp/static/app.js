// Carebooth clinician app: log in, today's appointments, the live waiting room and the call.
//
// A plain ES module with no build step and no dependencies. It speaks the switchboard's JSON
// API (/api/v1, docs/architecture.md) and the signalling protocol v1 over the WebSocket
// /api/v1/signal (package signalling): every message is {"v":1,"type":...,"seq":n,"body":{}},
// seq starts at 1 on each connection and rises by one per message, and the switchboard
// refuses unknown body fields, so bodies are built field by field below.
//
// The clinician's browser is always the offerer: admit -> call{role:"offerer"} -> offer ->
// answer, with ICE candidates trickled both ways (RFC 8829, RFC 8838).
//
// For browser tests, window.carebooth is a frozen, read-only object:
//   carebooth.stats()  -> Promise<{framesDecoded, framesReceived, framesSent, framesEncoded,
//                          audioPacketsReceived, audioPacketsSent, bytesReceived, bytesSent,
//                          connectionState, callId}> from RTCPeerConnection.getStats()
//                          (zeros and connectionState "none" when there is no call)
//   carebooth.state()  -> {view, signalling, clinicId, queue, pendingAdmit, call}
//   carebooth.version  -> the signalling protocol version (1)

// RECOVER_MS is how long a broken call may try to recover (booth/restart.go's restartWindow).
const RECOVER_MS = 20000;
const API = "/api/v1";
const PROTOCOL_VERSION = 1;
const AGENT_MAX_BYTES = 256; // signalling.Hello: agent is at most 256 bytes
const ADMIT_TIMEOUT_MS = 15000;
const APPOINTMENTS_REFRESH_MS = 60000;
const BACKOFF_MIN_MS = 1000;
const BACKOFF_MAX_MS = 30000;

const $ = (id) => {
  const node = document.getElementById(id);
  if (!node) throw new Error(`carebooth: element #${id} is missing from index.html`);
  return node;
};

const ui = {
  loading: $("loading-view"),
  login: $("login-view"),
  loginForm: $("login-form"),
  loginError: $("login-error"),
  username: $("login-username"),
  password: $("login-password"),
  loginSubmit: $("login-submit"),
  whoami: $("whoami"),
  clinicianName: $("clinician-name"),
  clinicName: $("clinic-name"),
  conn: $("conn-status"),
  logout: $("logout-button"),
  message: $("message"),
  messageText: $("message-text"),
  messageDismiss: $("message-dismiss"),
  announcer: $("announcer"),
  main: $("main"),
  dashboard: $("dashboard-view"),
  waitingCount: $("waiting-count"),
  waitingEmpty: $("waiting-empty"),
  waitingList: $("waiting-list"),
  waitingTemplate: $("waiting-entry-template"),
  appointmentsRefresh: $("appointments-refresh"),
  appointmentsStatus: $("appointments-status"),
  appointmentsTable: $("appointments-table"),
  appointmentsBody: $("appointments-body"),
  callView: $("call-view"),
  callHeading: $("call-heading"),
  callPeer: $("call-peer"),
  callStatus: $("call-status"),
  remoteVideo: $("remote-video"),
  localVideo: $("local-video"),
  mutedIndicator: $("muted-indicator"),
  videoPaused: $("video-paused"),
  mute: $("mute-button"),
  sound: $("sound-button"),
  end: $("end-button"),
};

const timeFormat = new Intl.DateTimeFormat("en-GB", { hour: "2-digit", minute: "2-digit" });

const state = {
  view: "loading", // loading | login | dashboard | call
  me: null, // the clinician, as /api/v1/me or /api/v1/login returns it
  clinicId: "",

  // Signalling connection. sendSeq and recvSeq belong to the current socket only.
  socket: null,
  signalling: "idle", // idle | connecting | open | reconnecting
  wantSocket: false,
  sendSeq: 0,
  recvSeq: 0,
  retries: 0,
  retryTimer: 0,
  clockOffsetMs: 0, // server clock minus ours, from welcome.server_time

  queue: [],
  seenArrivals: null, // Set of appointment IDs already announced; null until the first queue

  // {appointmentId, seq, media: Promise<MediaStream|null>, timer}
  pendingAdmit: null,

  // {id, appointmentId, peer, pc, localStream, remoteStream, candidates: [], muted, ended}
  call: null,

  deviceNames: new Map(), // device ID -> name, from /api/v1/devices
  appointmentsTimer: 0,
  appointmentsLoading: false,
  appointmentsQueued: false,
};

// ---- HTTP API -----------------------------------------------------------------------------

class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
  }
}

async function api(method, path, body) {
  const init = { method, credentials: "same-origin", headers: { Accept: "application/json" } };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(API + path, init);
  } catch (err) {
    throw new ApiError(0, "network", "The switchboard cannot be reached. Check the network connection and try again.");
  }
  const text = await res.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (!res.ok) {
    const e = data && typeof data === "object" ? data.error : null;
    throw new ApiError(
      res.status,
      (e && e.code) || `http_${res.status}`,
      (e && e.message) || `The switchboard answered ${[res.status, res.statusText].filter(Boolean).join(" ")}.`,
    );
  }
  return data;
}

// The login and /me answers may wrap the clinician ({"clinician":{...}}) or be it.
function clinicianOf(data) {
  if (data && typeof data === "object" && data.clinician && typeof data.clinician === "object") {
    return data.clinician;
  }
  return data && typeof data === "object" ? data : {};
}

// RFC 3339 in UTC without fractional seconds: 2026-11-21T00:00:00Z.
function rfc3339(date) {
  return date.toISOString().replace(/\.\d+Z$/, "Z");
}

// ---- Views and messages -------------------------------------------------------------------

function setView(view) {
  state.view = view;
  ui.loading.hidden = view !== "loading";
  ui.login.hidden = view !== "login";
  ui.dashboard.hidden = view !== "dashboard";
  ui.callView.hidden = view !== "call";
  const loggedIn = view === "dashboard" || view === "call";
  ui.whoami.hidden = !loggedIn;
  ui.conn.hidden = !loggedIn;
  ui.logout.hidden = !loggedIn;
  document.body.dataset.view = view;
}

// showMessage puts a message in the banner under the top bar. kind is "error" or "info".
function showMessage(text, kind = "error") {
  ui.messageText.textContent = text;
  ui.message.dataset.kind = kind;
  ui.message.hidden = false;
}

// onHelp shows a booth's Help button: someone at the booth needs a person there now.
function onHelp(body) {
  const where = typeof body.device_name === "string" && body.device_name ? body.device_name : "a booth";
  if (body.requested) {
    showMessage(`Help requested at ${where}: someone at the booth needs a member of staff.`, "error");
    announce(`Help requested at ${where}.`);
  } else if (ui.messageText.textContent.startsWith(`Help requested at ${where}`)) {
    clearMessage();
  }
}

function clearMessage() {
  ui.message.hidden = true;
  ui.messageText.textContent = "";
  delete ui.message.dataset.kind;
}

// announce tells screen-reader users about something that happened elsewhere on the page.
function announce(text) {
  ui.announcer.textContent = "";
  // A fresh text node after a tick makes repeated identical announcements be read again.
  setTimeout(() => {
    ui.announcer.textContent = text;
  }, 50);
}

function setConn(signalling) {
  state.signalling = signalling;
  const labels = {
    idle: "Not connected",
    connecting: "Connecting…",
    open: "Live",
    reconnecting: "Connection lost – reconnecting…",
  };
  ui.conn.textContent = labels[signalling] || signalling;
  ui.conn.dataset.state = signalling;
  renderQueue();
}

// ---- Log in and out -----------------------------------------------------------------------

function showLogin(message) {
  setView("login");
  ui.loginError.hidden = !message;
  ui.loginError.textContent = message || "";
  ui.password.value = "";
  (ui.username.value ? ui.password : ui.username).focus();
}

async function onLoginSubmit(event) {
  event.preventDefault();
  const username = ui.username.value.trim();
  const password = ui.password.value;
  if (!username || !password) {
    ui.loginError.textContent = "Enter your username and your password.";
    ui.loginError.hidden = false;
    (username ? ui.password : ui.username).focus();
    return;
  }
  ui.loginSubmit.disabled = true;
  ui.loginSubmit.textContent = "Logging in…";
  try {
    const data = await api("POST", "/login", { username, password });
    ui.password.value = "";
    ui.loginError.hidden = true;
    enterDashboard(clinicianOf(data));
  } catch (err) {
    let text = err.message;
    if (err.status === 401) {
      text = "The username or password is not right. Check them and try again.";
    } else if (err.status === 429) {
      text = `Too many failed attempts: ${err.message}`;
    }
    ui.loginError.textContent = text;
    ui.loginError.hidden = false;
    ui.password.value = "";
    ui.password.focus();
  } finally {
    ui.loginSubmit.disabled = false;
    ui.loginSubmit.textContent = "Log in";
  }
}

function enterDashboard(me) {
  state.me = me;
  state.clinicId = me.clinic_id || "";
  ui.clinicianName.textContent = me.name || me.username || "Clinician";
  ui.clinicName.textContent = me.clinic_name || "";
  clearMessage();
  setView("dashboard");
  ui.main.focus();
  loadAppointments();
  clearInterval(state.appointmentsTimer);
  state.appointmentsTimer = setInterval(loadAppointments, APPOINTMENTS_REFRESH_MS);
  state.wantSocket = true;
  connect();
}

// leaveDashboard stops everything that runs while logged in.
function leaveDashboard() {
  if (state.call) {
    hangUp("hangup", null);
  }
  cancelPendingAdmit();
  state.wantSocket = false;
  clearTimeout(state.retryTimer);
  if (state.socket) {
    const ws = state.socket;
    state.socket = null;
    ws.close(1000, "logged out");
  }
  setConn("idle");
  clearInterval(state.appointmentsTimer);
  state.me = null;
  state.queue = [];
  state.seenArrivals = null;
  ui.waitingList.replaceChildren();
  ui.appointmentsBody.replaceChildren();
  ui.appointmentsTable.hidden = true;
  document.title = "Carebooth – clinician";
}

async function onLogout() {
  leaveDashboard();
  clearMessage();
  try {
    await api("POST", "/logout");
  } catch (err) {
    // The session is forgotten on this page either way; the cookie expires on its own.
    console.warn("carebooth: log out:", err);
  }
  showLogin();
  showMessage("You have logged out.", "info");
}

function sessionExpired() {
  leaveDashboard();
  showLogin("Your session has ended. Please log in again.");
}

// ---- Appointments -------------------------------------------------------------------------

async function loadAppointments() {
  if (!state.me) return;
  if (state.appointmentsLoading) {
    state.appointmentsQueued = true;
    return;
  }
  state.appointmentsLoading = true;
  const now = new Date();
  const from = new Date(now.getFullYear(), now.getMonth(), now.getDate());
  const to = new Date(now.getFullYear(), now.getMonth(), now.getDate() + 1);
  const query = new URLSearchParams({ from: rfc3339(from), to: rfc3339(to) });
  try {
    const [data] = await Promise.all([api("GET", `/appointments?${query}`), loadDeviceNames()]);
    const list = Array.isArray(data) ? data : (data && data.appointments) || [];
    if (state.me) {
      renderAppointments(list);
      renderQueue();
    }
  } catch (err) {
    if (err.status === 401) {
      sessionExpired();
      return;
    }
    ui.appointmentsStatus.textContent = `Today’s appointments could not be loaded: ${err.message}`;
  } finally {
    state.appointmentsLoading = false;
    if (state.appointmentsQueued) {
      state.appointmentsQueued = false;
      loadAppointments();
    }
  }
}

// loadDeviceNames refreshes the booth names shown instead of device IDs. It never fails:
// without names the IDs are shown.
async function loadDeviceNames() {
  try {
    const data = await api("GET", "/devices");
    const devices = (data && data.devices) || [];
    state.deviceNames = new Map(devices.filter((d) => d && d.id).map((d) => [d.id, d.name || d.id]));
  } catch (err) {
    console.warn("carebooth: booth names:", err.message);
  }
}

function deviceName(id) {
  return state.deviceNames.get(id) || id || "";
}

function humanStatus(status) {
  if (!status) return "";
  const s = String(status).replace(/_/g, " ");
  return s.charAt(0).toUpperCase() + s.slice(1);
}

function renderAppointments(list) {
  const rows = [...list].sort((a, b) => Date.parse(a.start) - Date.parse(b.start));
  ui.appointmentsBody.replaceChildren(
    ...rows.map((a) => {
      const tr = document.createElement("tr");
      tr.dataset.testid = "appointment-row";
      tr.dataset.appointmentId = a.id;
      tr.dataset.status = a.status || "";
      const cells = [
        `${formatTime(a.start)}–${formatTime(a.end)}`,
        a.patient || "",
        deviceName(a.device_id),
        humanStatus(a.status),
      ];
      for (const text of cells) {
        const td = document.createElement("td");
        td.textContent = text;
        tr.append(td);
      }
      tr.lastChild.className = "status";
      tr.append(outcomeCell(a));
      return tr;
    }),
  );
  ui.appointmentsTable.hidden = rows.length === 0;
  ui.appointmentsStatus.textContent = rows.length === 0 ? "No appointments today." : "";
}

// Outcomes a clinician records by hand (package appointment's life cycle): a no-show
// before the patient has arrived, a move to the telephone until the appointment is over.
const OUTCOMES = [
  { path: "no-show", label: "No-show", from: ["scheduled", "window_open"], done: "marked as a no-show" },
  { path: "telephone", label: "Phoned instead", from: ["scheduled", "window_open", "waiting", "in_call"], done: "moved to the telephone" },
];

function outcomeCell(a) {
  const td = document.createElement("td");
  td.className = "outcomes";
  for (const o of OUTCOMES) {
    if (!o.from.includes(a.status)) continue;
    const button = document.createElement("button");
    button.type = "button";
    button.className = "btn btn-secondary btn-small";
    button.textContent = o.label;
    button.dataset.testid = `outcome-${o.path}`;
    button.setAttribute("aria-label", `${o.label}: ${a.patient || "patient"} at ${formatTime(a.start)}`);
    button.addEventListener("click", () => recordOutcome(a, o, button));
    td.append(button);
  }
  return td;
}

async function recordOutcome(a, o, button) {
  button.disabled = true;
  clearMessage();
  try {
    await api("POST", `/appointments/${encodeURIComponent(a.id)}/${o.path}`);
    showMessage(`${a.patient || "The appointment"} ${o.done}.`, "info");
  } catch (err) {
    if (err.status === 401) {
      sessionExpired();
      return;
    }
    showMessage(`Could not record it: ${err.message}`);
  }
  loadAppointments();
}

function formatTime(value) {
  const t = Date.parse(value);
  return Number.isNaN(t) ? "" : timeFormat.format(new Date(t));
}

// ---- Signalling ---------------------------------------------------------------------------

function signalURL() {
  const url = new URL(`${API}/signal`, window.location.href);
  url.protocol = window.location.protocol === "https:" ? "wss:" : "ws:";
  return url.href;
}

// truncateUTF8 cuts s to at most max bytes of UTF-8 without splitting a character.
function truncateUTF8(s, max) {
  const encoder = new TextEncoder();
  if (encoder.encode(s).length <= max) return s;
  let out = "";
  let bytes = 0;
  for (const ch of s) {
    const n = encoder.encode(ch).length;
    if (bytes + n > max) break;
    out += ch;
    bytes += n;
  }
  return out;
}

function connect() {
  clearTimeout(state.retryTimer);
  if (!state.wantSocket || state.socket) return;
  let ws;
  try {
    ws = new WebSocket(signalURL());
  } catch (err) {
    console.warn("carebooth: open signalling:", err);
    scheduleReconnect();
    return;
  }
  state.socket = ws;
  state.sendSeq = 0;
  state.recvSeq = 0;
  setConn(state.retries > 0 ? "reconnecting" : "connecting");
  ws.addEventListener("open", () => {
    if (ws !== state.socket) return;
    send("hello", { role: "clinician", agent: truncateUTF8(navigator.userAgent || "", AGENT_MAX_BYTES) });
  });
  ws.addEventListener("message", (event) => {
    if (ws !== state.socket) return;
    onSignal(event.data);
  });
  ws.addEventListener("close", (event) => {
    if (ws !== state.socket) return;
    state.socket = null;
    onSocketLost(event);
  });
}

function onSocketLost(event) {
  console.warn(`carebooth: signalling closed (code ${event.code}${event.reason ? `, ${event.reason}` : ""})`);
  // The switchboard ends a dropped connection's calls (end{peer_lost} to the booth), so the
  // call is over here too even if media still flows.
  if (state.call) {
    teardownCall("The connection to the switchboard was lost, so the call has ended. It will reconnect by itself; admit the patient again when they are back in the waiting room.");
  }
  if (state.pendingAdmit) {
    cancelPendingAdmit();
    showMessage("The connection to the switchboard was lost before the call started. Admit the patient again when the waiting room is back.");
  }
  if (!state.wantSocket) {
    setConn("idle");
    return;
  }
  scheduleReconnect();
}

async function scheduleReconnect() {
  state.retries += 1;
  setConn("reconnecting");
  // A refused upgrade looks like any other drop to a page; after two failures ask the API
  // whether the session is still good, so an expired one goes back to the login form.
  if (state.retries >= 2) {
    try {
      await api("GET", "/me");
    } catch (err) {
      if (err.status === 401) {
        sessionExpired();
        return;
      }
    }
    if (!state.wantSocket) return;
  }
  const base = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** (state.retries - 1));
  const delay = base / 2 + Math.random() * (base / 2);
  clearTimeout(state.retryTimer);
  state.retryTimer = setTimeout(connect, delay);
}

// send frames and sends one message; it returns its seq, or 0 when the socket is not open.
function send(type, body) {
  const ws = state.socket;
  if (!ws || ws.readyState !== WebSocket.OPEN) return 0;
  state.sendSeq += 1;
  ws.send(JSON.stringify({ v: PROTOCOL_VERSION, type, seq: state.sendSeq, body }));
  return state.sendSeq;
}

function onSignal(data) {
  let msg;
  try {
    msg = JSON.parse(data);
  } catch {
    console.warn("carebooth: signalling message is not JSON");
    return;
  }
  if (!msg || typeof msg !== "object") return;
  if (msg.v !== PROTOCOL_VERSION) {
    showMessage(`The switchboard speaks signalling version ${msg.v}, this page speaks version ${PROTOCOL_VERSION}. Reload the page.`);
    return;
  }
  if (!(Number.isInteger(msg.seq) && msg.seq > state.recvSeq)) {
    console.warn(`carebooth: ${msg.type} with seq ${msg.seq} after seq ${state.recvSeq}, ignored`);
    return;
  }
  state.recvSeq = msg.seq;
  const body = msg.body && typeof msg.body === "object" ? msg.body : {};
  switch (msg.type) {
    case "welcome":
      onWelcome(body);
      break;
    case "queue":
      onQueue(body);
      break;
    case "call":
      onCall(body);
      break;
    case "answer":
      onAnswer(body);
      break;
    case "candidate":
      onRemoteCandidate(body);
      break;
    case "restart":
      onRestart(body);
      break;
    case "end":
      onRemoteEnd(body);
      break;
    case "error":
      onServerError(body);
      break;
    case "help":
      onHelp(body);
      break;
    default:
      console.warn(`carebooth: unexpected ${msg.type} message ignored`);
  }
}

function onWelcome(body) {
  state.retries = 0;
  const serverTime = Date.parse(body.server_time);
  if (!Number.isNaN(serverTime)) state.clockOffsetMs = serverTime - Date.now();
  if (body.clinic_id) state.clinicId = body.clinic_id;
  if (body.clinic_name) ui.clinicName.textContent = body.clinic_name;
  state.seenArrivals = null;
  setConn("open");
}

function onServerError(body) {
  const code = body.code || "error";
  const text = body.message || "The switchboard refused a request.";
  console.warn(`carebooth: switchboard error ${code} (ref ${body.ref || 0}): ${text}`);
  if (state.pendingAdmit && (!body.ref || body.ref === state.pendingAdmit.seq)) {
    cancelPendingAdmit();
    showMessage(`The patient could not be admitted: ${text} (${code})`);
    return;
  }
  showMessage(`The switchboard refused a request: ${text} (${code})`);
}

// ---- Waiting room -------------------------------------------------------------------------

function onQueue(body) {
  const entries = Array.isArray(body.entries) ? body.entries : [];
  if (body.clinic_id) state.clinicId = body.clinic_id;
  state.queue = entries;
  const ids = new Set(entries.map((e) => e.appointment_id));
  if (state.seenArrivals) {
    const arrived = entries.filter((e) => !state.seenArrivals.has(e.appointment_id) && !e.in_call);
    if (arrived.length === 1) announce(`${arrived[0].patient} is now waiting.`);
    else if (arrived.length > 1) announce(`${arrived.length} more patients are now waiting.`);
  }
  state.seenArrivals = ids;
  if (state.pendingAdmit && !ids.has(state.pendingAdmit.appointmentId)) {
    cancelPendingAdmit();
    showMessage("The patient left the waiting room before the call started.", "info");
  }
  renderQueue();
  loadAppointments();
}

function renderQueue() {
  const waiting = state.queue.filter((e) => !e.in_call).length;
  ui.waitingCount.textContent = String(waiting);
  document.title = waiting > 0 && state.me ? `(${waiting}) Carebooth – clinician` : "Carebooth – clinician";
  ui.waitingEmpty.hidden = state.queue.length > 0;
  ui.waitingEmpty.textContent = state.signalling === "open" ? "Nobody is waiting." : "Waiting for the switchboard…";

  // Rebuilding the list must not lose the keyboard focus of an Admit button.
  const focused = document.activeElement;
  const focusedId = focused && focused.closest && ui.waitingList.contains(focused) ? focused.dataset.appointmentId : null;

  const live = state.signalling === "open";
  ui.waitingList.replaceChildren(
    ...state.queue.map((entry) => {
      const li = ui.waitingTemplate.content.firstElementChild.cloneNode(true);
      li.dataset.appointmentId = entry.appointment_id;
      li.dataset.deviceId = entry.device_id || "";
      li.dataset.since = entry.since || "";
      li.dataset.inCall = entry.in_call ? "true" : "false";
      li.querySelector(".patient").textContent = entry.patient || "Patient";
      li.querySelector(".detail").textContent = [
        entry.start ? `Booked for ${formatTime(entry.start)}` : "",
        entry.device_id ? deviceName(entry.device_id) : "",
      ].filter(Boolean).join(" · ");
      const button = li.querySelector("button");
      button.dataset.appointmentId = entry.appointment_id;
      const pending = state.pendingAdmit && state.pendingAdmit.appointmentId === entry.appointment_id;
      if (entry.in_call) {
        button.textContent = "In a call";
        button.disabled = true;
        li.classList.add("in-call");
      } else if (pending) {
        button.textContent = "Admitting…";
        button.disabled = true;
      } else {
        button.setAttribute("aria-label", `Admit ${entry.patient || "patient"}`);
        button.disabled = !live || Boolean(state.call) || Boolean(state.pendingAdmit);
      }
      button.addEventListener("click", () => admit(entry.appointment_id));
      return li;
    }),
  );
  updateWaitTimes();
  if (focusedId) {
    const again = ui.waitingList.querySelector(`button[data-appointment-id="${CSS.escape(focusedId)}"]`);
    if (again && !again.disabled) again.focus();
  }
}

function formatWait(ms) {
  const minutes = Math.max(0, Math.floor(ms / 60000));
  if (minutes < 1) return "Just arrived";
  if (minutes < 60) return `Waiting ${minutes} min`;
  const h = Math.floor(minutes / 60);
  const m = minutes % 60;
  return `Waiting ${h} h ${String(m).padStart(2, "0")} min`;
}

// updateWaitTimes refreshes the "Waiting n min" counters against the switchboard's clock.
function updateWaitTimes() {
  const now = Date.now() + state.clockOffsetMs;
  for (const li of ui.waitingList.children) {
    const span = li.querySelector(".waited");
    if (li.dataset.inCall === "true") {
      span.textContent = "In a call";
      continue;
    }
    const since = Date.parse(li.dataset.since);
    const text = Number.isNaN(since) ? "" : formatWait(now - since);
    if (span.textContent !== text) span.textContent = text;
    li.classList.toggle("long-wait", !Number.isNaN(since) && now - since >= 10 * 60000);
  }
}

// ---- The call -----------------------------------------------------------------------------

function admit(appointmentId) {
  if (state.call || state.pendingAdmit) return;
  clearMessage();
  const seq = send("admit", { appointment_id: appointmentId });
  if (!seq) {
    showMessage("Not connected to the switchboard. Wait for the waiting room to come back, then admit again.");
    return;
  }
  // Asking for the camera now, while the switchboard sets the call up, saves a second.
  const media = getLocalMedia();
  const timer = setTimeout(() => {
    if (state.pendingAdmit && state.pendingAdmit.seq === seq) {
      cancelPendingAdmit();
      showMessage("The switchboard did not start the call. Try admitting the patient again.");
    }
  }, ADMIT_TIMEOUT_MS);
  state.pendingAdmit = { appointmentId, seq, media, timer };
  renderQueue();
}

function cancelPendingAdmit() {
  const p = state.pendingAdmit;
  if (!p) return;
  state.pendingAdmit = null;
  clearTimeout(p.timer);
  p.media.then(stopStream);
  renderQueue();
}

function stopStream(stream) {
  if (stream) for (const track of stream.getTracks()) track.stop();
}

// getLocalMedia resolves to the camera and microphone, or to null (after showing why) when
// the browser cannot have them: the call then goes ahead receive-only.
async function getLocalMedia() {
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    showMessage("This browser cannot use the camera here: open the app over HTTPS. You can see and hear the patient, but they cannot see or hear you.");
    return null;
  }
  try {
    return await navigator.mediaDevices.getUserMedia({
      // The booth decodes in software on a Raspberry Pi: 640x480 at 30 fps is plenty on
      // its screen and keeps its CPU free for encoding its own camera.
      video: { width: { ideal: 640 }, height: { ideal: 480 }, frameRate: { ideal: 30 } },
      audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true },
    });
  } catch (err) {
    const why = {
      NotAllowedError: "the browser was not allowed to use them. Allow the camera and microphone for this site (the camera icon in the address bar) for the next call",
      NotFoundError: "no camera or microphone was found. Connect one before the next call",
      NotReadableError: "another program is using them. Close it before the next call",
      OverconstrainedError: "they do not support the settings asked for",
    }[err && err.name] || `of an error: ${err && err.message}`;
    showMessage(`The camera and microphone could not be used because ${why}. You can see and hear the patient, but they cannot see or hear you.`);
    return null;
  }
}

function iceServersOf(list) {
  if (!Array.isArray(list)) return [];
  return list
    .filter((s) => s && s.urls)
    .map((s) => {
      const server = { urls: s.urls };
      if (s.username) server.username = s.username;
      if (s.credential) server.credential = s.credential;
      return server;
    });
}

async function onCall(body) {
  if (body.role !== "offerer") {
    console.warn(`carebooth: call ${body.call_id} with role ${body.role} ignored: the clinician offers`);
    return;
  }
  if (state.call) {
    // One call at a time: refuse the second one so the booth does not wait for an offer.
    send("end", { call_id: body.call_id, reason: "hangup" });
    showMessage("A second call was started while you are in a call; it has been ended.");
    return;
  }
  let media = null;
  const pending = state.pendingAdmit;
  if (pending) {
    state.pendingAdmit = null;
    clearTimeout(pending.timer);
    if (pending.appointmentId === body.appointment_id) media = pending.media;
    else pending.media.then(stopStream);
  }
  if (!media) media = getLocalMedia();

  let pc;
  try {
    pc = new RTCPeerConnection({ iceServers: iceServersOf(body.ice_servers) });
  } catch (err) {
    // A malformed STUN or TURN server from the switchboard's configuration lands here.
    media.then(stopStream);
    send("end", { call_id: body.call_id, reason: "failed" });
    showMessage(`The call could not be set up: ${err.message}. Ask IT to check the switchboard's ICE server settings.`);
    renderQueue();
    return;
  }
  const entry = state.queue.find((e) => e.appointment_id === body.appointment_id);
  const call = {
    id: body.call_id,
    appointmentId: body.appointment_id,
    peer: body.peer || (entry && entry.patient) || "the patient",
    pc,
    localStream: null,
    remoteStream: new MediaStream(),
    candidates: [], // remote candidates that came before the answer
    localCandidates: [], // our candidates gathered before the offer went out
    offerSent: false,
    muted: false,
    ended: false,
  };
  state.call = call;
  showCallView(call);

  pc.addEventListener("icecandidate", (event) => {
    // A null candidate (or an empty one) marks the end of gathering; the booth does not
    // need it, so it is not sent.
    const c = event.candidate;
    if (call.ended || !c || !c.candidate) return;
    const msg = { call_id: call.id, candidate: c.candidate };
    if (c.sdpMid !== null && c.sdpMid !== undefined) msg.sdpMid = c.sdpMid;
    if (c.sdpMLineIndex !== null && c.sdpMLineIndex !== undefined) msg.sdpMLineIndex = c.sdpMLineIndex;
    if (c.usernameFragment !== null && c.usernameFragment !== undefined) msg.usernameFragment = c.usernameFragment;
    // The switchboard refuses a candidate that comes before the offer it belongs to.
    if (call.offerSent) send("candidate", msg);
    else call.localCandidates.push(msg);
  });
  pc.addEventListener("track", (event) => {
    if (call.ended) return;
    if (!call.remoteStream.getTracks().includes(event.track)) call.remoteStream.addTrack(event.track);
    if (ui.remoteVideo.srcObject !== call.remoteStream) ui.remoteVideo.srcObject = call.remoteStream;
    playRemote();
  });
  pc.addEventListener("connectionstatechange", () => onConnectionState(call));

  try {
    const stream = await media;
    if (call.ended) {
      stopStream(stream);
      return;
    }
    call.localStream = stream;
    attachLocalMedia(call, stream);
    const offer = await pc.createOffer();
    if (call.ended) return;
    await pc.setLocalDescription(offer);
    if (call.ended) return;
    send("offer", { call_id: call.id, sdp: pc.localDescription.sdp });
    call.offerSent = true;
    for (const msg of call.localCandidates) send("candidate", msg);
    call.localCandidates = [];
    setCallStatus("connecting", "Calling the booth…");
  } catch (err) {
    console.error("carebooth: start call:", err);
    if (!call.ended) failCall(`The call could not be started: ${err.message}`);
  }
}

function attachLocalMedia(call, stream) {
  const pc = call.pc;
  const tracks = stream ? stream.getTracks() : [];
  for (const track of tracks) pc.addTrack(track, stream);
  for (const kind of ["audio", "video"]) {
    if (!tracks.some((t) => t.kind === kind)) pc.addTransceiver(kind, { direction: "recvonly" });
  }
  preferVP8(pc);
  ui.localVideo.srcObject = stream;
  ui.localVideo.hidden = !stream || stream.getVideoTracks().length === 0;
  const hasMic = Boolean(stream && stream.getAudioTracks().length > 0);
  ui.mute.disabled = !hasMic;
  ui.mute.textContent = hasMic ? "Mute microphone" : "No microphone";
}

// preferVP8 puts VP8 first in the video codec list: the booth encodes and decodes VP8 in
// software, and a browser left to itself may pick a codec the booth must refuse.
function preferVP8(pc) {
  // setCodecPreferences takes codecs from the receiver's capabilities (WebRTC 1.0, 5.4).
  if (typeof RTCRtpReceiver === "undefined" || !RTCRtpReceiver.getCapabilities) return;
  const caps = RTCRtpReceiver.getCapabilities("video");
  if (!caps) return;
  const codecs = [...caps.codecs].sort((a, b) => {
    const av = a.mimeType.toLowerCase() === "video/vp8" ? 0 : 1;
    const bv = b.mimeType.toLowerCase() === "video/vp8" ? 0 : 1;
    return av - bv;
  });
  for (const t of pc.getTransceivers()) {
    const kind = (t.sender.track && t.sender.track.kind) || (t.receiver.track && t.receiver.track.kind);
    if (kind !== "video" || typeof t.setCodecPreferences !== "function") continue;
    try {
      t.setCodecPreferences(codecs);
    } catch (err) {
      console.warn("carebooth: codec preferences:", err);
    }
  }
}

function showCallView(call) {
  ui.callPeer.textContent = call.peer;
  ui.mutedIndicator.hidden = true;
  ui.videoPaused.hidden = true;
  ui.mute.setAttribute("aria-pressed", "false");
  ui.mute.textContent = "Mute microphone";
  ui.mute.classList.remove("is-muted");
  ui.sound.hidden = true;
  ui.remoteVideo.muted = false;
  ui.remoteVideo.srcObject = call.remoteStream;
  setCallStatus("new", "Starting the call…");
  renderQueue();
  setView("call");
  ui.end.focus();
}

function setCallStatus(key, text) {
  ui.callStatus.dataset.state = key;
  ui.callStatus.textContent = text;
}

function playRemote() {
  const p = ui.remoteVideo.play();
  if (!p) return;
  p.catch((err) => {
    if (err.name !== "NotAllowedError") return;
    // The browser refused sound without a click on this page: play the picture silently and
    // offer a button that turns the sound on.
    ui.remoteVideo.muted = true;
    ui.remoteVideo.play().catch(() => {});
    ui.sound.hidden = false;
  });
}

function onSoundClick() {
  ui.remoteVideo.muted = false;
  ui.remoteVideo.play().then(
    () => {
      ui.sound.hidden = true;
      ui.mute.focus();
    },
    (err) => showMessage(`Sound could not be turned on: ${err.message}`),
  );
}

function onConnectionState(call) {
  if (call.ended) return;
  switch (call.pc.connectionState) {
    case "connecting":
      setCallStatus("connecting", "Connecting…");
      break;
    case "connected":
      clearTimeout(call.recoverTimer);
      call.recoverTimer = undefined;
      setCallStatus("connected", "Connected");
      announce(`Connected to ${call.peer}.`);
      break;
    case "disconnected":
    case "failed":
      // The booth asks for an ICE restart when its path breaks (a restart message) and
      // gives up after RECOVER_MS; the page waits as long before it ends the call.
      setCallStatus("disconnected", "Connection interrupted – trying to recover…");
      if (call.recoverTimer === undefined) {
        call.recoverTimer = setTimeout(() => {
          if (!call.ended && call.pc.connectionState !== "connected") {
            failCall("The video connection to the booth failed. The patient is back in the waiting room: admit them again, or phone them.");
          }
        }, RECOVER_MS);
      }
      break;
    default:
      break;
  }
}

// onRestart answers the booth's request for an ICE restart (its path broke or its network
// changed): a new offer with fresh ICE credentials, relayed like the first. Candidates
// gathered for it wait until the offer has gone, as the switchboard orders them after it.
async function onRestart(body) {
  const call = state.call;
  if (!call || body.call_id !== call.id || call.ended) {
    console.warn(`carebooth: restart for call ${body.call_id} ignored`);
    return;
  }
  call.offerSent = false;
  try {
    const offer = await call.pc.createOffer({ iceRestart: true });
    if (call.ended) return;
    await call.pc.setLocalDescription(offer);
    if (call.ended) return;
    send("offer", { call_id: call.id, sdp: call.pc.localDescription.sdp });
  } catch (err) {
    console.error("carebooth: ice restart:", err);
  } finally {
    call.offerSent = true;
    for (const msg of call.localCandidates) send("candidate", msg);
    call.localCandidates = [];
  }
}

async function onAnswer(body) {
  const call = state.call;
  if (!call || body.call_id !== call.id) {
    console.warn(`carebooth: answer for call ${body.call_id} ignored`);
    return;
  }
  try {
    await call.pc.setRemoteDescription({ type: "answer", sdp: body.sdp });
  } catch (err) {
    console.error("carebooth: set answer:", err);
    if (!call.ended) failCall(`The booth's answer could not be used, so the call has ended: ${err.message}`);
    return;
  }
  const queued = call.candidates;
  call.candidates = [];
  for (const init of queued) addRemoteCandidate(call, init);
}

function onRemoteCandidate(body) {
  const call = state.call;
  if (!call || body.call_id !== call.id) return;
  const init = { candidate: body.candidate || "" };
  if (body.sdpMid !== undefined && body.sdpMid !== null) init.sdpMid = body.sdpMid;
  if (body.sdpMLineIndex !== undefined && body.sdpMLineIndex !== null) init.sdpMLineIndex = body.sdpMLineIndex;
  if (body.usernameFragment !== undefined && body.usernameFragment !== null) init.usernameFragment = body.usernameFragment;
  if (!call.pc.remoteDescription) {
    call.candidates.push(init);
    return;
  }
  addRemoteCandidate(call, init);
}

function addRemoteCandidate(call, init) {
  if (call.ended) return;
  // A candidate the browser cannot use (another address family, a stale ufrag) is not a
  // reason to end the call: ICE carries on with the others.
  call.pc.addIceCandidate(init).catch((err) => console.warn("carebooth: remote candidate:", err.message));
}

const endReasons = {
  hangup: "The patient's booth ended the call.",
  peer_lost: "The connection to the booth was lost, so the call has ended.",
  failed: "The call's video connection failed. The patient is back in the waiting room: admit them again, or phone them.",
  revoked: "The call has ended: device revoked. IT has switched this booth off; phone the patient.",
};

function onRemoteEnd(body) {
  const call = state.call;
  if (!call || body.call_id !== call.id) return;
  teardownCall(endReasons[body.reason] || `The call has ended (${body.reason}).`, body.reason === "hangup" ? "info" : "error");
}

// hangUp tells the switchboard the call is over and closes it here. message may be null.
function hangUp(reason, message, kind = "info") {
  const call = state.call;
  if (!call) return;
  send("end", { call_id: call.id, reason });
  teardownCall(message, kind);
}

function failCall(message) {
  hangUp("failed", message, "error");
}

function teardownCall(message, kind = "error") {
  const call = state.call;
  if (!call) return;
  call.ended = true;
  state.call = null;
  stopStream(call.localStream);
  try {
    call.pc.close();
  } catch {
    // Already closed.
  }
  ui.remoteVideo.srcObject = null;
  ui.localVideo.srcObject = null;
  ui.sound.hidden = true;
  if (state.me) {
    setView("dashboard");
    renderQueue();
    ui.main.focus();
    loadAppointments();
  }
  if (message) {
    showMessage(message, kind);
    announce(message);
  }
}

function onMuteClick() {
  const call = state.call;
  if (!call || !call.localStream) return;
  call.muted = !call.muted;
  for (const track of call.localStream.getAudioTracks()) track.enabled = !call.muted;
  ui.mute.setAttribute("aria-pressed", String(call.muted));
  ui.mute.textContent = call.muted ? "Unmute microphone" : "Mute microphone";
  ui.mute.classList.toggle("is-muted", call.muted);
  ui.mutedIndicator.hidden = !call.muted;
  announce(call.muted ? "Microphone muted." : "Microphone on.");
}

// ---- Test hooks ---------------------------------------------------------------------------

async function stats() {
  const out = {
    framesDecoded: 0,
    framesReceived: 0,
    framesSent: 0,
    framesEncoded: 0,
    audioPacketsReceived: 0,
    audioPacketsSent: 0,
    bytesReceived: 0,
    bytesSent: 0,
    connectionState: "none",
    callId: null,
  };
  const call = state.call;
  if (!call) return out;
  out.connectionState = call.pc.connectionState;
  out.callId = call.id;
  const report = await call.pc.getStats();
  report.forEach((s) => {
    const kind = s.kind || s.mediaType;
    if (s.type === "inbound-rtp") {
      out.bytesReceived += s.bytesReceived || 0;
      if (kind === "video") {
        out.framesDecoded += s.framesDecoded || 0;
        out.framesReceived += s.framesReceived || 0;
      } else if (kind === "audio") {
        out.audioPacketsReceived += s.packetsReceived || 0;
      }
    } else if (s.type === "outbound-rtp") {
      out.bytesSent += s.bytesSent || 0;
      if (kind === "video") {
        out.framesSent += s.framesSent || 0;
        out.framesEncoded += s.framesEncoded || 0;
      } else if (kind === "audio") {
        out.audioPacketsSent += s.packetsSent || 0;
      }
    }
  });
  return out;
}

function snapshot() {
  const call = state.call;
  return JSON.parse(
    JSON.stringify({
      view: state.view,
      signalling: state.signalling,
      clinicId: state.clinicId,
      queue: state.queue,
      pendingAdmit: state.pendingAdmit ? state.pendingAdmit.appointmentId : null,
      call: call
        ? {
            id: call.id,
            appointmentId: call.appointmentId,
            peer: call.peer,
            connectionState: call.pc.connectionState,
            muted: call.muted,
          }
        : null,
    }),
  );
}

Object.defineProperty(window, "carebooth", {
  value: Object.freeze({ version: PROTOCOL_VERSION, stats, state: snapshot }),
  writable: false,
  enumerable: false,
  configurable: false,
});

// ---- Start --------------------------------------------------------------------------------

ui.loginForm.addEventListener("submit", onLoginSubmit);
ui.logout.addEventListener("click", onLogout);
ui.messageDismiss.addEventListener("click", () => {
  clearMessage();
  ui.main.focus();
});
ui.appointmentsRefresh.addEventListener("click", loadAppointments);
ui.mute.addEventListener("click", onMuteClick);
ui.sound.addEventListener("click", onSoundClick);
ui.end.addEventListener("click", () => hangUp("hangup", "You ended the call."));
// No end is sent when the page goes away: the switchboard sees the connection drop and
// puts the patient back in the waiting room, so a clinician who reloads by mistake can
// admit them again, where a hangup would have ended the appointment.
setInterval(updateWaitTimes, 1000);

// The patient's picture has paused when no frame has been decoded for PAUSED_AFTER_MS
// while their sound keeps arriving (a link too slow for video, as the booth's own screen
// also says): the notice says the call goes on. It goes when the picture moves again.
const PAUSED_AFTER_MS = 3000;
async function watchVideo() {
  const call = state.call;
  if (!call) return;
  let s;
  try {
    s = await stats();
  } catch {
    return;
  }
  if (state.call !== call) return;
  const now = Date.now();
  const w = call.videoWatch || (call.videoWatch = { frames: 0, audio: 0, movedAt: now });
  if (s.framesDecoded > w.frames) w.movedAt = now;
  const sound = s.audioPacketsReceived > w.audio;
  const paused = sound && w.frames > 0 && now - w.movedAt >= PAUSED_AFTER_MS;
  w.frames = s.framesDecoded;
  w.audio = s.audioPacketsReceived;
  if (ui.videoPaused.hidden === paused) ui.videoPaused.hidden = !paused;
}
setInterval(watchVideo, 1000);

(async () => {
  try {
    enterDashboard(clinicianOf(await api("GET", "/me")));
  } catch (err) {
    if (err.status === 401) showLogin();
    else showLogin(err.message);
  }
})();
