// The dashboard's routing panels: the endpoints (with their last 15 minutes, what protects each
// receiver, and Enable/Disable)
// and, in an open message, its deliveries per endpoint. Uses api(), cell(), pill(), number(),
// show() and refresh() from dashboard.js, which loads after this file.
"use strict";

function drawEndpoints(list) {
  const body = document.querySelector("#endpoints tbody");
  body.replaceChildren();
  for (const e of list.endpoints) {
    const row = body.insertRow();
    row.dataset.name = e.name;
    cell(row, e.name);
    cell(row, e.url, "wrap");
    cell(row, e.event_types ? e.event_types.join(", ") : "every type");
    cell(row, pill(e.enabled ? "active" : "inactive")).firstChild.textContent = e.enabled ? "enabled" : "disabled";
    cell(row, number(e.recent.succeeded));
    cell(row, number(e.recent.failed));
    cell(row, e.recent.last_error || "–", "wrap");
    cell(row, protection(e), "wrap");
    cell(row, endpointSwitch(e));
  }
  if (!list.endpoints.length) cell(body.insertRow(), "No endpoint.", "muted").colSpan = 9;
}

// What protects the receiver now: the breaker when not closed, a pause, the rate in force, and
// why Herald disabled it; "–" when none applies.
function protection(e) {
  const parts = [];
  if (e.breaker.state !== "closed") parts.push(`breaker ${e.breaker.state.replace("_", "-")}: ${e.breaker.reason || ""}`);
  if (e.paused_until) parts.push(`paused until ${new Date(e.paused_until).toLocaleTimeString()} (${e.pause_reason})`);
  if (e.effective_rate != null) parts.push(`${e.effective_rate}/s`);
  if (e.disabled_reason) parts.push(`disabled: ${e.disabled_reason}`);
  return parts.join("; ") || "–";
}

// Enable or Disable; an error (a 409, a 503) is shown on the page.
function endpointSwitch(endpoint) {
  const button = document.createElement("button");
  const verb = endpoint.enabled ? "Disable" : "Enable";
  button.type = "button";
  button.className = "secondary";
  button.dataset.action = verb.toLowerCase();
  button.textContent = verb;
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      await api(`/endpoints/${endpoint.id}/${verb.toLowerCase()}`, "POST");
      show(document.querySelector("#endpoints-error"), "");
    } catch (e) {
      show(document.querySelector("#endpoints-error"), `${verb} failed: ${e.message}`);
    }
    refresh();
  });
  return button;
}

// The event behind a message: one row per endpoint it was routed to.
async function drawDeliveries(id) {
  const event = await api(`/events/${id}`);
  const body = document.querySelector("#deliveries tbody");
  body.replaceChildren();
  for (const d of event.deliveries) {
    const row = body.insertRow();
    row.dataset.endpoint = d.endpoint;
    cell(row, d.endpoint);
    cell(row, pill(d.status));
    cell(row, number(d.attempts));
    cell(row, d.last_error || "–", "wrap");
  }
  if (!event.deliveries.length) cell(body.insertRow(), "Routed to no endpoint (unrouted).", "muted").colSpan = 4;
}
