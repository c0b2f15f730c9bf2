package virtual

import "net/http"

// pageHTML is the development page: the stream, the status light (when simulated), and the
// booth's buttons (also on the keys `make run`'s terminal uses).
const pageHTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Carebooth virtual screen</title>
<style>
body { background: #222; color: #fff; font: 18px/1.4 system-ui, sans-serif; margin: 1rem; }
img { display: block; max-width: 100%; border: 1px solid #555; }
button { font: inherit; padding: .6rem 1.2rem; margin: .5rem .5rem 0 0; border-radius: .4rem; border: 2px solid #fff; background: #333; color: #fff; }
button:focus { outline: 3px solid #ffe27a; }
#join { background: #00a650; } #end { background: #c00; }
#light { display: flex; align-items: center; gap: 1rem; margin: .8rem 0; }
#lamp { width: 3rem; height: 3rem; border-radius: 50%; border: 3px solid #888; background: #000; flex: none; }
</style>
</head>
<body>
<h1>Carebooth virtual screen</h1>
<img src="/stream.mjpeg" alt="The booth's screen, live">
<div id="light" hidden><div id="lamp" role="img" aria-label="status light"></div><div><strong>Status light:</strong> <span id="pattern"></span><br><span id="meaning"></span></div></div>
<p id="buttons">
<button id="join" data-b="join">Join (j)</button>
<button id="end" data-b="end">End (e)</button>
<button data-b="help">Help (h)</button>
<button data-b="mute">Mute (m)</button>
<button data-b="volume_down">Volume down (-)</button>
<button data-b="volume_up">Volume up (+)</button>
</p>
<p role="status" id="status"></p>
<p>Snapshot: <a href="/screen.png">/screen.png</a>. Upper-case keys hold a button down.</p>
<script>
const keys = {j: "join", e: "end", h: "help", m: "mute", "-": "volume_down", "+": "volume_up"};
async function press(b, long) {
  const r = await fetch("/buttons/" + b + (long ? "?kind=long" : ""), {method: "POST"});
  document.getElementById("status").textContent = r.ok ? "Pressed " + b + (long ? " (held)" : "") : "Not pressed: " + await r.text();
}
async function lamp() {
  try {
    const r = await fetch("/light", {cache: "no-store"});
    if (r.status === 404) return; // a real light: nothing to draw
    if (r.ok) {
      const l = await r.json();
      document.getElementById("light").hidden = false;
      document.getElementById("lamp").style.background = l.colour;
      document.getElementById("pattern").textContent = l.pattern;
      document.getElementById("meaning").textContent = l.meaning;
    }
  } catch (e) {}
  setTimeout(lamp, 100);
}
lamp();
document.getElementById("buttons").addEventListener("click", e => { if (e.target.dataset.b) press(e.target.dataset.b, false); });
document.addEventListener("keydown", e => {
  const b = keys[e.key] || keys[e.key.toLowerCase()];
  if (b && !e.ctrlKey && !e.metaKey && !e.altKey) press(b, e.key !== e.key.toLowerCase());
});
</script>
</body>
</html>
`

func (s *Screen) page(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'")
	w.Write([]byte(pageHTML))
}
