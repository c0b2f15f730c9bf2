// Carebooth reports page: the commissioners' report (GET /api/v1/reports) as a bar chart of
// attended and did-not-attend appointments by site, and a table with every figure.
//
// A plain ES module, no build step and no dependencies; the chart is SVG built with DOM
// calls (textContent only, so names from the server are never parsed as markup). The table
// carries everything the chart shows, for screen readers and for copying. The session is
// the clinician web app's cookie; without one the page says to log in.

const API = "/api/v1";

const $ = (id) => {
  const node = document.getElementById(id);
  if (!node) throw new Error(`carebooth: element #${id} is missing from report.html`);
  return node;
};

const ui = {
  form: $("report-form"),
  from: $("report-from"),
  to: $("report-to"),
  clinicField: $("report-clinic-field"),
  clinic: $("report-clinic"),
  csv: $("report-csv"),
  status: $("report-status"),
  output: $("report-output"),
  chart: $("report-chart"),
  body: $("report-body"),
  notes: $("report-notes"),
};

const SVG = "http://www.w3.org/2000/svg";

function setStatus(text, state = "") {
  ui.status.textContent = text;
  ui.status.dataset.state = state;
}

async function getJSON(path) {
  const res = await fetch(API + path, { credentials: "same-origin", headers: { Accept: "application/json" } });
  let body = null;
  try {
    body = await res.json();
  } catch {
    // not JSON: handled below
  }
  if (!res.ok) {
    const err = new Error(body?.error?.message || `the switchboard answered ${res.status}`);
    err.status = res.status;
    throw err;
  }
  return body;
}

// Dates in the form are days; the API takes [from, to) with to the day after the last.
function isoDay(d) {
  return d.toISOString().slice(0, 10);
}

function addDays(day, n) {
  const d = new Date(`${day}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + n);
  return isoDay(d);
}

function query() {
  const q = new URLSearchParams({ from: ui.from.value, to: addDays(ui.to.value, 1) });
  if (ui.clinic.value) q.set("clinic_id", ui.clinic.value);
  return q;
}

function updateCSVLink() {
  if (!ui.from.value || !ui.to.value) return;
  const q = query();
  q.set("format", "csv");
  ui.csv.href = `${API}/reports?${q}`;
}

const num = (v, digits = 0) =>
  v === null || v === undefined ? null : v.toLocaleString("en-GB", { maximumFractionDigits: digits, minimumFractionDigits: digits });

function duration(seconds) {
  if (seconds === null || seconds === undefined) return null;
  const s = Math.round(seconds);
  const m = Math.floor(s / 60);
  return m > 0 ? `${m} min ${s % 60} s` : `${s} s`;
}

function cell(tr, text, header = false) {
  const td = document.createElement(header ? "th" : "td");
  if (header) td.scope = "row";
  if (text === null) {
    td.textContent = "–";
    td.className = "na";
    td.title = "not available";
    const sr = document.createElement("span");
    sr.className = "visually-hidden";
    sr.textContent = " not available";
    td.append(sr);
  } else {
    td.textContent = String(text);
  }
  tr.append(td);
}

function row(clinicName, site, m, clinicRow) {
  const tr = document.createElement("tr");
  if (clinicRow) tr.className = "clinic-row";
  cell(tr, clinicName, true);
  cell(tr, site);
  cell(tr, m.appointments);
  cell(tr, m.attended);
  cell(tr, m.did_not_attend);
  cell(tr, m.dna_rate === null ? null : `${num(m.dna_rate * 100, 1)}%`);
  cell(tr, m.cancelled);
  cell(tr, m.moved_to_telephone);
  cell(tr, m.reconnects);
  cell(tr, duration(m.wait_median_seconds));
  cell(tr, duration(m.wait_p90_seconds));
  cell(tr, duration(m.call_median_seconds));
  cell(tr, duration(m.call_p90_seconds));
  cell(tr, m.mean_bitrate_kbps === null ? null : `${num(m.mean_bitrate_kbps)} kbit/s`);
  cell(tr, m.mean_packet_loss_pct === null ? null : `${num(m.mean_packet_loss_pct, 2)}%`);
  return tr;
}

function svg(name, attrs = {}, text) {
  const el = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  if (text !== undefined) el.textContent = text;
  return el;
}

// drawChart draws one horizontal pair of bars per site: attended and did not attend.
function drawChart(report) {
  const sites = [];
  for (const c of report.clinics) {
    for (const s of c.sites) {
      const label = report.clinics.length > 1 ? `${c.clinic_name} – ${s.site}` : s.site;
      sites.push({ label, attended: s.metrics.attended, dna: s.metrics.did_not_attend });
    }
  }
  ui.chart.replaceChildren();
  if (sites.length === 0) {
    const p = document.createElement("p");
    p.textContent = "No sites to show.";
    ui.chart.append(p);
    return;
  }
  const max = Math.max(1, ...sites.map((s) => Math.max(s.attended, s.dna)));
  const labelW = 260;
  const barW = 520;
  const rowH = 56;
  const width = labelW + barW + 80;
  const height = sites.length * rowH + 24;
  const desc = sites.map((s) => `${s.label}: ${s.attended} attended, ${s.dna} did not attend`).join("; ");
  const root = svg("svg", { class: "chart-svg", viewBox: `0 0 ${width} ${height}`, role: "img", "aria-labelledby": "chart-title chart-desc", "data-testid": "report-chart-svg" });
  root.append(svg("title", { id: "chart-title" }, "Attended and did not attend, by site"));
  root.append(svg("desc", { id: "chart-desc" }, desc));
  sites.forEach((s, i) => {
    const y = i * rowH + 8;
    root.append(svg("text", { x: 0, y: y + 26 }, s.label.length > 34 ? `${s.label.slice(0, 33)}…` : s.label));
    const bars = [
      { value: s.attended, cls: "bar-attended", dy: 4 },
      { value: s.dna, cls: "bar-dna", dy: 26 },
    ];
    for (const b of bars) {
      const w = Math.round((b.value / max) * barW);
      root.append(svg("rect", { x: labelW, y: y + b.dy, width: Math.max(w, 1), height: 18, class: b.cls, "data-value": b.value }));
      root.append(svg("text", { x: labelW + Math.max(w, 1) + 6, y: y + b.dy + 14 }, String(b.value)));
    }
  });
  root.append(svg("line", { class: "axis", x1: labelW, x2: labelW, y1: 0, y2: height }));
  ui.chart.append(root);
}

function render(report) {
  ui.body.replaceChildren();
  for (const c of report.clinics) {
    ui.body.append(row(c.clinic_name, "All sites", c.total, true));
    for (const s of c.sites) ui.body.append(row("", s.site, s.metrics, false));
  }
  ui.notes.replaceChildren();
  for (const n of report.notes) {
    const li = document.createElement("li");
    li.textContent = n;
    ui.notes.append(li);
  }
  drawChart(report);
  ui.output.hidden = false;
}

async function load() {
  if (!ui.from.value || !ui.to.value) {
    setStatus("Choose the first and last day.", "error");
    return;
  }
  if (ui.to.value < ui.from.value) {
    setStatus("The last day is before the first day.", "error");
    ui.to.focus();
    return;
  }
  updateCSVLink();
  setStatus("Loading the report…");
  try {
    const report = await getJSON(`/reports?${query()}`);
    render(report);
    const n = report.clinics.reduce((sum, c) => sum + c.total.appointments, 0);
    setStatus(`Report for ${ui.from.value} to ${ui.to.value}: ${n} appointments.`);
  } catch (err) {
    ui.output.hidden = true;
    if (err.status === 401) {
      setStatus("You are not logged in. Log in on the waiting room page, then come back.", "error");
    } else {
      setStatus(`The report could not be loaded: ${err.message}`, "error");
    }
  }
}

async function init() {
  const today = isoDay(new Date());
  ui.to.value = today;
  ui.from.value = addDays(today, -29);
  ui.form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    load();
  });
  for (const input of [ui.from, ui.to, ui.clinic]) input.addEventListener("change", updateCSVLink);
  try {
    const me = await getJSON("/me");
    if (me.clinician?.admin) {
      const { clinics } = await getJSON("/clinics");
      for (const c of clinics) {
        const opt = document.createElement("option");
        opt.value = c.id;
        opt.textContent = c.name;
        ui.clinic.append(opt);
      }
      ui.clinicField.hidden = false;
    }
  } catch (err) {
    if (err.status === 401) {
      setStatus("You are not logged in. Log in on the waiting room page, then come back.", "error");
      return;
    }
  }
  updateCSVLink();
  load();
}

init();
