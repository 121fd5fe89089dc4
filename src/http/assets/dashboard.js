// Herald's dashboard: reads the API every 2 s while the tab is visible and draws it.
// No framework and no build step; every number comes from /health, /stats, /stats/history,
// /endpoints, /messages and /events, and every button calls the same endpoints as curl would.
// The routing panels are drawn by routing.js.
"use strict";

const REFRESH_MS = 2000;
const PAGE_SIZE = 20;
const $ = (selector) => document.querySelector(selector);
const view = { status: "all", offset: 0, detail: null, token: sessionStorage.getItem("herald-token") };

class ApiError extends Error {
  constructor(message, status) { super(message); this.status = status; }
}

// --- API -------------------------------------------------------------------------------------

async function api(path, method = "GET") {
  const headers = view.token ? { Authorization: `Bearer ${view.token}` } : {};
  let response;
  try {
    response = await fetch(path, { method, headers });
  } catch (e) {
    throw new ApiError(`Herald did not answer (${e.message})`, 0);
  }
  const body = await response.json().catch(() => ({}));
  if (response.status === 401) askForToken("The token was refused: enter it again.");
  if (!response.ok) throw new ApiError(body.error || `HTTP ${response.status}`, response.status);
  return body;
}

function askForToken(message) {
  view.token = null;
  sessionStorage.removeItem("herald-token");
  $("#dashboard").hidden = true;
  $("#login").hidden = false;
  show($("#login-error"), message);
}

$("#login").addEventListener("submit", (event) => {
  event.preventDefault();
  view.token = $("#token").value.trim();
  sessionStorage.setItem("herald-token", view.token);
  $("#login").hidden = true;
  refresh();
});

// --- Formatting ------------------------------------------------------------------------------

const number = (n) => Number(n).toLocaleString("en-US");

function ago(iso) {
  if (!iso) return "–";
  const seconds = Math.round((Date.now() - Date.parse(iso)) / 1000);
  const span = Math.abs(seconds);
  const text = span < 60 ? `${span} s` : span < 3600 ? `${Math.round(span / 60)} min`
    : span < 86400 ? `${Math.round(span / 3600)} h` : `${Math.round(span / 86400)} d`;
  return seconds >= 0 ? `${text} ago` : `in ${text}`;
}

function age(seconds) {
  if (!seconds) return "none";
  return seconds < 60 ? `${seconds.toFixed(1)} s` : ago(new Date(Date.now() - seconds * 1000).toISOString()).replace(" ago", "");
}

function show(element, message) {
  element.textContent = message || "";
  element.hidden = !message;
}

function pill(text) {
  const span = document.createElement("span");
  span.className = `pill ${text}`;
  span.textContent = text;
  return span;
}

function cell(row, content, className) {
  const td = row.insertCell();
  if (content instanceof Node) td.append(content); else td.textContent = content;
  if (className) td.className = className;
  return td;
}

// --- Panels ----------------------------------------------------------------------------------

function drawHealth(health) {
  const list = $("#checks");
  list.replaceChildren();
  const rows = [["overall", health.status, ""]];
  for (const name of ["database", "cache", "webhook"]) {
    const check = health.checks[name];
    rows.push([name, check.status, check.backend || check.error || ""]);
  }
  rows.push(["dispatcher", health.checks.dispatcher.status, ""]);
  const sources = health.checks.sources;
  rows.push(["sources", sources.status, sources.failing.map((f) => f.name).join(", ")]);
  for (const [name, status, note] of rows) {
    const li = document.createElement("li");
    li.dataset.check = name;
    const label = document.createElement("span");
    label.textContent = note ? `${name} (${note})` : name;
    label.title = label.textContent;
    li.append(label, pill(status));
    list.append(li);
  }
}

function drawStats(stats) {
  const state = $("#dispatch-state");
  state.textContent = stats.dispatch;
  state.className = `pill ${stats.dispatch}`;
  const s = stats.dispatch_settings;
  const pace = s.rate_per_second ? `, at most ${number(s.rate_per_second)}/s` : "";
  $("#dispatch-mode").textContent = s.mode === "interval"
    ? `interval mode: ${number(s.batch_size)} every ${s.interval_seconds} s, ${s.concurrency} in flight${pace}`
    : `continuous mode: up to ${number(s.concurrency)} in flight, fallback poll every ${s.interval_seconds} s${pace}`;
  $("#start").disabled = stats.dispatch === "active";
  $("#stop").disabled = stats.dispatch !== "active";

  const list = $("#count-list");
  list.replaceChildren();
  for (const status of ["pending", "sending", "sent", "failed", "cancelled"]) {
    const item = document.createElement("div");
    item.dataset.status = status;
    const dt = document.createElement("dt");
    dt.textContent = status;
    const dd = document.createElement("dd");
    dd.textContent = number(stats.messages[status]);
    item.append(dt, dd);
    list.append(item);
  }
  $("#oldest-due").textContent = age(stats.oldest_due_age_seconds);
}

// An SVG of stacked bars (attempts per bucket) and two latency lines on their own scale.
function drawChart(history) {
  const W = 900, H = 240, left = 40, right = 48, top = 10, bottom = 22;
  const buckets = history.buckets;
  const slot = (W - left - right) / buckets.length;
  const maxCount = Math.max(1, ...buckets.map((b) => b.succeeded + b.retried + b.failed));
  const maxMs = Math.max(1, ...buckets.map((b) => b.p99_ms || 0));
  const y = (n) => H - bottom - (n / maxCount) * (H - top - bottom);
  const yMs = (ms) => H - bottom - (ms / maxMs) * (H - top - bottom);
  const parts = [];
  for (const f of [0, 0.5, 1]) {
    const at = y(maxCount * f);
    parts.push(`<line class="grid" x1="${left}" x2="${W - right}" y1="${at}" y2="${at}"/>`,
      `<text class="axis" x="${left - 6}" y="${at + 4}" text-anchor="end">${number(Math.round(maxCount * f))}</text>`,
      `<text class="axis" x="${W - right + 6}" y="${yMs(maxMs * f) + 4}">${Math.round(maxMs * f)} ms</text>`);
  }
  buckets.forEach((b, i) => {
    let base = 0;
    for (const kind of ["succeeded", "retried", "failed"]) {
      if (!b[kind]) continue;
      const x = left + i * slot + slot * 0.1;
      parts.push(`<rect class="bar ${kind}" data-kind="${kind}" x="${x.toFixed(1)}" width="${(slot * 0.8).toFixed(1)}"
        y="${y(base + b[kind]).toFixed(1)}" height="${(y(base) - y(base + b[kind])).toFixed(1)}"><title>${number(b[kind])} ${kind} at ${new Date(b.start).toLocaleTimeString()}</title></rect>`);
      base += b[kind];
    }
  });
  for (const key of ["p50_ms", "p99_ms"]) {
    const name = key.slice(0, 3);
    const points = buckets.map((b, i) => b[key] == null ? null
      : [(left + (i + 0.5) * slot).toFixed(1), yMs(b[key]).toFixed(1), b[key]]).filter(Boolean);
    if (!points.length) continue;
    parts.push(`<polyline class="line ${name}" points="${points.map((p) => `${p[0]},${p[1]}`).join(" ")}"/>`);
    for (const [x, y, ms] of points) {
      parts.push(`<circle class="dot ${name}" cx="${x}" cy="${y}" r="2.5"><title>${name} ${number(Math.round(ms))} ms</title></circle>`);
    }
  }
  const first = new Date(history.from).toLocaleTimeString(), last = new Date(history.to).toLocaleTimeString();
  parts.push(`<text class="axis" x="${left}" y="${H - 5}">${first}</text>`,
    `<text class="axis" x="${W - right}" y="${H - 5}" text-anchor="end">${last}</text>`);
  $("#chart").innerHTML = `<svg viewBox="0 0 ${W} ${H}" role="img" aria-label="Deliveries per 10 seconds">${parts.join("")}</svg>`;
}

function drawMessages(page) {
  const body = $("#messages tbody");
  body.replaceChildren();
  for (const m of page.messages) {
    const row = body.insertRow();
    row.dataset.id = m.id;
    cell(row, m.id.slice(0, 8)).title = m.id;
    cell(row, m.recipient);
    cell(row, pill(m.status));
    cell(row, number(m.attempts));
    cell(row, ago(m.created_at)).title = m.created_at;
    cell(row, ago(m.sent_at || m.updated_at));
    cell(row, actionFor(m));
    row.addEventListener("click", () => openDetail(m.id));
  }
  if (!page.messages.length) cell(body.insertRow(), "No messages with this status.", "muted").colSpan = 7;
  const from = page.total ? view.offset + 1 : 0;
  $("#page").textContent = `${number(from)}–${number(view.offset + page.count)} of ${number(page.total)}`;
  $("#prev").disabled = view.offset === 0;
  $("#next").disabled = view.offset + page.count >= page.total;
}

// Retry for failed messages, Cancel for pending ones; a 409 is shown, not swallowed.
function actionFor(message) {
  const actions = { failed: ["Retry", "POST", `/messages/${message.id}/retry`],
    pending: ["Cancel", "DELETE", `/messages/${message.id}`] };
  const action = actions[message.status];
  if (!action) return "";
  const button = document.createElement("button");
  button.type = "button";
  button.className = "secondary";
  button.dataset.action = action[0].toLowerCase();
  button.textContent = action[0];
  button.addEventListener("click", async (event) => {
    event.stopPropagation();
    button.disabled = true;
    try {
      await api(action[2], action[1]);
      show($("#table-error"), "");
    } catch (e) {
      show($("#table-error"), `${action[0]} failed: ${e.message}`);
    }
    refresh();
  });
  return button;
}

async function openDetail(id) {
  view.detail = id;
  await drawDetail();
  $("#detail").scrollIntoView({ behavior: "smooth" });
}

async function drawDetail() {
  if (!view.detail) return;
  const m = await api(`/messages/${view.detail}`);
  $("#detail").hidden = false;
  $("#detail-id").textContent = m.id;
  $("#detail-summary").replaceChildren(pill(m.status),
    ` to ${m.recipient}: “${m.content}” · ${number(m.attempts)} attempt(s)` +
    (m.last_error ? ` · last error: ${m.last_error}` : "") +
    (m.status === "pending" ? ` · due ${ago(m.next_attempt_at)}` : ""));
  const body = $("#attempts tbody");
  body.replaceChildren();
  for (const a of m.delivery_attempts) {
    const row = body.insertRow();
    cell(row, a.attempt);
    cell(row, ago(a.started_at)).title = a.started_at;
    cell(row, pill(a.outcome === "success" ? "sent" : a.outcome === "retryable" ? "pending" : "failed")).firstChild.textContent = a.outcome;
    cell(row, a.status_code ?? a.error_class ?? "–");
    cell(row, `${number(a.duration_ms)} ms`);
    cell(row, a.response_excerpt || "", "wrap");
  }
  if (!m.delivery_attempts.length) cell(body.insertRow(), "No attempt yet.", "muted").colSpan = 6;
  await drawDeliveries(m.id);
}

$("#close-detail").addEventListener("click", () => { view.detail = null; $("#detail").hidden = true; });
$("#filter").addEventListener("change", (e) => { view.status = e.target.value; view.offset = 0; refresh(); });
$("#prev").addEventListener("click", () => { view.offset = Math.max(0, view.offset - PAGE_SIZE); refresh(); });
$("#next").addEventListener("click", () => { view.offset += PAGE_SIZE; refresh(); });
for (const [button, path] of [["#start", "/messages/start"], ["#stop", "/messages/stop"]]) {
  $(button).addEventListener("click", async () => {
    try { await api(path, "POST"); show($("#banner"), ""); } catch (e) { show($("#banner"), e.message); }
    refresh();
  });
}

// --- Refresh loop ----------------------------------------------------------------------------

// Each panel is drawn from its own call, so one failing endpoint shows its error and leaves
// the others working.
async function panel(path, draw, errorElement) {
  try {
    draw(await api(path));
    if (errorElement) show(errorElement, "");
    return true;
  } catch (e) {
    if (e.status === 401) throw e;
    show(errorElement || $("#banner"), `${path}: ${e.message}`);
    return false;
  }
}

// /health is public and answers 503 with the same body when the database is down: draw it too.
async function drawHealthPanel() {
  try {
    const response = await fetch("/health");
    drawHealth(await response.json());
  } catch (e) {
    $("#checks").replaceChildren(Object.assign(document.createElement("li"), {
      className: "error", textContent: `/health: ${e.message}` }));
  }
}

let timer = null;
async function refresh() {
  clearTimeout(timer);
  if (!document.hidden && $("#login").hidden) {
    try {
      // /stats first: it needs the token, so nothing is shown before the token is right.
      const ok = await panel("/stats", drawStats);
      $("#dashboard").hidden = false;
      await Promise.all([
        drawHealthPanel(),
        panel("/stats/history?window=15m&bucket=10s", drawChart, $("#chart-error")),
        panel("/endpoints", (list) => { drawEndpoints(list); replayEndpoints(list); }, $("#endpoints-error")),
        panel("/replays", drawReplays, $("#replays-error")),
        panel("/rules", drawRules, $("#rules-error")),
        panel("/sources", drawSources, $("#sources-error")),
        panel(`/messages?status=${view.status}&limit=${PAGE_SIZE}&offset=${view.offset}`, drawMessages, $("#table-error")),
        drawDetail().catch((e) => show($("#table-error"), e.message)),
      ]);
      if (ok) show($("#banner"), "");
      $("#updated").textContent = `updated ${new Date().toLocaleTimeString()}`;
      document.body.dataset.refreshed = String(Number(document.body.dataset.refreshed || 0) + 1);
    } catch (e) {
      if (e.status !== 401) show($("#banner"), e.message);
    }
  }
  timer = setTimeout(refresh, REFRESH_MS);
}

document.addEventListener("visibilitychange", () => { if (!document.hidden) refresh(); });
refresh();
