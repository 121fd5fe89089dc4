// The dashboard's Sources panel: each event source with its state (and why it fails), its
// counts and lag, and a button to pause or resume it. Uses cell(), pill(), number(), api(),
// show() and refresh() from dashboard.js.
"use strict";

function sourceButton(s) {
  const button = document.createElement("button");
  button.type = "button";
  button.className = "secondary";
  const verb = s.enabled ? "pause" : "resume";
  button.dataset.action = verb;
  button.textContent = s.enabled ? "Pause" : "Resume";
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      await api(`/sources/${encodeURIComponent(s.name)}/${verb}`, "POST");
      show(document.querySelector("#sources-error"), "");
    } catch (e) {
      show(document.querySelector("#sources-error"), `${button.textContent} failed: ${e.message}`);
    }
    refresh();
  });
  return button;
}

function drawSources(list) {
  const body = document.querySelector("#sources tbody");
  body.replaceChildren();
  for (const s of list.sources) {
    const row = body.insertRow();
    row.dataset.name = s.name;
    cell(row, s.name);
    cell(row, s.kind === "redis_stream" ? "Redis" : "JetStream");
    cell(row, s.subject ? `${s.stream} (${s.subject})` : s.stream, "wrap");
    const state = cell(row, pill(s.state));
    if (s.error) state.title = s.error;
    cell(row, number(s.read));
    cell(row, number(s.stored));
    cell(row, number(s.duplicates));
    cell(row, number(s.dead));
    cell(row, s.lag === null ? "–" : number(s.lag));
    cell(row, s.error || s.last_entry || "–", "wrap");
    cell(row, sourceButton(s));
  }
  if (!list.sources.length) cell(body.insertRow(), "No source.", "muted").colSpan = 11;
}
