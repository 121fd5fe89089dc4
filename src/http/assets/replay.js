// The dashboard's Replay panel: choose an endpoint, a time range and a mode; count first (a dry
// run), then start; watch each job's progress, pause, resume and cancel it. Uses api(), cell(),
// pill(), number(), show() and refresh() from dashboard.js, and view.token.
"use strict";

// POST with a JSON body, as api() does for the others (the token, the error's text).
async function postJson(path, body) {
  const headers = { "Content-Type": "application/json" };
  if (view.token) headers.Authorization = `Bearer ${view.token}`;
  const response = await fetch(path, { method: "POST", headers, body: JSON.stringify(body) });
  const answer = await response.json().catch(() => ({}));
  if (!response.ok) throw new ApiError(answer.error || `HTTP ${response.status}`, response.status);
  return answer;
}

// The endpoint choices, kept as the user left them across refreshes.
function replayEndpoints(list) {
  const select = document.querySelector("#replay-endpoint");
  const chosen = select.value;
  select.replaceChildren(new Option("every enabled endpoint", ""));
  for (const e of list.endpoints) select.append(new Option(e.name, e.name));
  select.value = [...select.options].some((o) => o.value === chosen) ? chosen : "";
}

// What the form asks for; `from` and `to` are the browser's local time.
function replayRequest(dryRun) {
  const value = (id) => document.querySelector(id).value;
  const body = { mode: value("#replay-mode"), dry_run: dryRun };
  if (value("#replay-endpoint")) body.endpoint = value("#replay-endpoint");
  body.from = value("#replay-from") ? new Date(value("#replay-from")).toISOString() : "";
  if (value("#replay-to")) body.to = new Date(value("#replay-to")).toISOString();
  if (value("#replay-rate")) body.rate_per_sec = Number(value("#replay-rate"));
  if (body.mode === "all") body.confirm = document.querySelector("#replay-confirm").checked;
  return body;
}

async function replaySubmit(dryRun) {
  const result = document.querySelector("#replay-result");
  const error = document.querySelector("#replays-error");
  try {
    const answer = await postJson("/replays", replayRequest(dryRun));
    show(error, "");
    result.textContent = dryRun
      ? `Would send ${answer.count} event(s): ` +
        (answer.by_endpoint.map((e) => `${e.endpoint} ${e.count}`).join(", ") || "no endpoint")
      : `Started: ${answer.planned} event(s) planned.`;
    result.dataset.count = dryRun ? String(answer.count) : "";
  } catch (e) {
    result.textContent = "";
    show(error, `${dryRun ? "Count" : "Start"} failed: ${e.message}`);
  }
  if (!dryRun) refresh();
}

function replayButton(job, verb) {
  const button = document.createElement("button");
  button.type = "button";
  button.className = "secondary";
  button.dataset.action = verb;
  button.textContent = verb[0].toUpperCase() + verb.slice(1);
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      await api(`/replays/${job.id}/${verb}`, "POST");
      show(document.querySelector("#replays-error"), "");
    } catch (e) {
      show(document.querySelector("#replays-error"), `${button.textContent} failed: ${e.message}`);
    }
    refresh();
  });
  return button;
}

function drawReplays(list) {
  const body = document.querySelector("#replays tbody");
  body.replaceChildren();
  for (const job of list.replays) {
    const row = body.insertRow();
    row.dataset.id = job.id;
    cell(row, new Date(job.created_at).toLocaleString());
    cell(row, job.endpoint || (job.endpoint_id ? "(deleted)" : "every enabled"));
    cell(row, job.mode);
    cell(row, pill(job.status));
    cell(row, `${number(job.examined)} / ${number(job.planned)}`);
    cell(row, number(job.enqueued));
    cell(row, `${number(job.succeeded)} sent, ${number(job.failed)} failed, ${number(job.in_flight)} on their way`);
    const actions = cell(row, "");
    if (job.status === "running") actions.append(replayButton(job, "pause"));
    if (job.status === "paused") actions.append(replayButton(job, "resume"));
    if (job.status === "running" || job.status === "paused") actions.append(replayButton(job, "cancel"));
  }
  if (!list.replays.length) cell(body.insertRow(), "No replay yet.", "muted").colSpan = 8;
}

document.querySelector("#replay-count").addEventListener("click", () => replaySubmit(true));
document.querySelector("#replay-start").addEventListener("click", () => replaySubmit(false));
