// The dashboard's Reminder rules panel: each rule with its event type, offsets, time zone, next
// reminder and its counts pending and sent. Uses cell(), pill() and number() from dashboard.js.
"use strict";

function drawRules(list) {
  const body = document.querySelector("#rules tbody");
  body.replaceChildren();
  for (const r of list.rules) {
    const row = body.insertRow();
    row.dataset.name = r.name;
    cell(row, r.name);
    cell(row, r.event_type);
    cell(row, r.offsets.join(", "));
    cell(row, r.timezone + (r.quiet_hours ? ` (quiet ${r.quiet_hours.start}–${r.quiet_hours.end})` : ""), "wrap");
    cell(row, r.endpoint);
    cell(row, pill(r.enabled ? "active" : "inactive")).firstChild.textContent = r.enabled ? "enabled" : "disabled";
    cell(row, r.next_reminder_at ? new Date(r.next_reminder_at).toLocaleString() : "–");
    cell(row, number(r.pending));
    cell(row, number(r.sent));
  }
  if (!list.rules.length) cell(body.insertRow(), "No rule.", "muted").colSpan = 9;
}
