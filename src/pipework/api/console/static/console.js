// The Pipework console's behaviour: buttons post JSON to /console/api/..., a bus page tails its events through
// an EventSource. Plain DOM, no framework; every page works (read-only) without it.
"use strict";

function say(message, isError) {
  const status = document.getElementById("status");
  if (!status) return;
  status.textContent = message;
  status.className = isError ? "error" : "ok";
}

// Behind --auth sigv4 the page carries its session's CSRF token: every request the script makes sends it.
const csrfToken = document.querySelector("meta[name=csrf-token]")?.content;

async function call(method, url, body) {
  const options = { method, headers: {}, credentials: "same-origin" };
  if (csrfToken) options.headers["x-csrf-token"] = csrfToken;
  if (body !== undefined) {
    options.headers["content-type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  const response = await fetch(url, options);
  const answer = await response.json().catch(() => ({}));
  if (response.status === 401 && url.startsWith("/console/")) {
    // The session ended: sign in again, then come back here.
    window.location.assign(`/console/login?next=${encodeURIComponent(location.pathname + location.search)}`);
  }
  if (!response.ok) {
    const error = new Error(`${answer.__type || response.status}: ${answer.message || response.statusText}`);
    error.answer = answer;
    throw error;
  }
  return answer;
}

function element(tag, text, attributes) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = text;
  for (const [name, value] of Object.entries(attributes || {})) node.setAttribute(name, value);
  return node;
}

function pretty(value) {
  return JSON.stringify(value, null, 2);
}

function parseJson(text, what) {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new Error(`${what} is not valid JSON: ${error.message}`);
  }
}

function onSubmit(id, handler) {
  const form = document.getElementById(id);
  if (!form) return;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      await handler(form, event.submitter);
    } catch (error) {
      say(error.message, true);
    }
  });
}

function onClick(selector, handler) {
  for (const button of document.querySelectorAll(selector)) {
    button.addEventListener("click", async () => {
      button.disabled = true;
      try {
        await handler(button);
      } catch (error) {
        say(error.message, true);
      } finally {
        button.disabled = false;
      }
    });
  }
}

// -- a bus: put an event, live tail ----------------------------------------------------------------------------
onSubmit("put-event", async (form) => {
  const data = new FormData(form);
  const answer = await call("POST", "/console/api/events/put", {
    EventBusName: form.dataset.bus,
    Source: data.get("Source"),
    DetailType: data.get("DetailType"),
    Detail: data.get("Detail"),
  });
  const entry = answer.Entries[0];
  if (entry.ErrorCode) throw new Error(`${entry.ErrorCode}: ${entry.ErrorMessage}`);
  say(`Put event ${entry.EventId}.`);
});

function startTail() {
  const table = document.getElementById("tail-table");
  if (!table) return;
  const state = document.getElementById("tail-state");
  const body = table.querySelector("tbody");
  const source = new EventSource(`/console/api/tail/${encodeURIComponent(table.dataset.bus)}`);
  source.onopen = () => {
    state.textContent = "Watching.";
    state.dataset.state = "open";
  };
  source.onerror = () => {
    state.textContent = "Disconnected; reconnecting…";
    state.dataset.state = "error";
  };
  source.onmessage = (message) => {
    const { Event: event, MatchedRules: rules } = JSON.parse(message.data);
    const row = element("tr", null, { "data-event-id": event.id });
    row.append(
      element("td", event.time),
      element("td", event.id),
      element("td", event.source),
      element("td", event["detail-type"]),
      element("td").appendChild(element("code", JSON.stringify(event.detail))).parentNode,
      element("td", rules.length ? rules.join(", ") : "none"),
    );
    body.prepend(row);
    while (body.rows.length > 200) body.deleteRow(body.rows.length - 1);
  };
  window.addEventListener("pagehide", () => source.close());
}

// -- a rule: test its pattern ----------------------------------------------------------------------------------
onSubmit("test-pattern", async (form) => {
  const data = new FormData(form);
  const result = document.getElementById("test-result");
  const answer = await call("POST", "/console/api/events/test-pattern", {
    EventPattern: data.get("EventPattern"),
    Event: data.get("Event"),
  });
  result.replaceChildren();
  if (answer.Result) {
    result.append(element("p", "The event matches the pattern.", { class: "ok" }));
    return;
  }
  result.append(element("p", "The event does not match. Fields it fails:", { class: "error" }));
  const list = element("ul");
  for (const path of answer.Mismatched) list.append(element("li").appendChild(element("mark", path)).parentNode);
  result.append(list);
  // Highlight the failing fields in the pattern shown above.
  const shown = document.getElementById("pattern-text");
  if (shown) {
    const text = shown.textContent;
    shown.replaceChildren();
    const leaves = answer.Mismatched.map((p) => p.split(".").pop());
    let rest = text;
    const marker = new RegExp(`"(${leaves.map((l) => l.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("|")})":`);
    let found;
    while (leaves.length && (found = marker.exec(rest))) {
      shown.append(rest.slice(0, found.index));
      shown.append(element("mark", found[0]));
      rest = rest.slice(found.index + found[0].length);
    }
    shown.append(rest);
  }
});

// -- a pipe: start, stop, invoke -------------------------------------------------------------------------------
onClick(".pipe-action", async (button) => {
  const pipe = button.parentNode.dataset.pipe;
  const answer = await call("POST", `/console/api/pipes/${encodeURIComponent(pipe)}/${button.dataset.action}`);
  document.getElementById("pipe-state").textContent = answer.CurrentState;
  say(`Pipe ${pipe}: ${answer.CurrentState} (desired ${answer.DesiredState}).`);
});

onSubmit("invoke-pipe", async (form) => {
  const record = parseJson(new FormData(form).get("Record"), "The record");
  const records = Array.isArray(record) ? record : [record];
  const answer = await call("POST", `/console/api/pipes/${encodeURIComponent(form.dataset.pipe)}/invoke`, {
    Records: records,
  });
  const result = document.getElementById("invoke-result");
  result.replaceChildren(element("p", `Execution ${answer.ExecutionId}: ${answer.Status}`, { id: "invoke-status" }));
  if (answer.Error) result.append(element("p", pretty(answer.Error), { class: "error" }));
  const table = element("table", null, { class: "stages" });
  const head = element("tr");
  for (const title of ["Stage", "Status", "Input", "Output", "Error", "ms"]) head.append(element("th", title));
  table.append(element("thead").appendChild(head).parentNode);
  const body = element("tbody");
  for (const stage of answer.Stages) {
    const row = element("tr", null, { "data-stage": stage.Stage });
    row.append(
      element("td", stage.Stage),
      element("td", stage.Status),
      element("td").appendChild(element("pre", pretty(stage.Input))).parentNode,
      element("td").appendChild(element("pre", stage.Output === undefined ? "" : pretty(stage.Output))).parentNode,
      element("td", stage.Error ? pretty(stage.Error) : ""),
      element("td", stage.DurationMs),
    );
    body.append(row);
  }
  table.append(body);
  result.append(table);
  say(`Invoked: ${answer.Status}.`);
});

// -- dead letters ----------------------------------------------------------------------------------------------
onSubmit("dead-letters", async (form, submitter) => {
  const action = submitter && submitter.value === "discard" ? "discard" : "redrive";
  const rule = [];
  const pipe = {};
  for (const box of form.querySelectorAll("input[type=checkbox]:checked")) {
    if (box.name === "rule") rule.push(box.value);
    else (pipe[box.dataset.pipe] = pipe[box.dataset.pipe] || []).push(box.value);
  }
  if (!rule.length && !Object.keys(pipe).length) throw new Error("Select at least one dead letter.");
  if (action === "discard" && !window.confirm("Discard the selected dead letters for good?")) return;
  const answer = await call("POST", `/console/api/dead-letters/${action}`, { Rule: rule, Pipe: pipe });
  say(action === "discard" ? `Discarded ${answer.Discarded}.` : `Redriven ${answer.Redriven}.`);
  for (const box of form.querySelectorAll("input[type=checkbox]:checked")) box.closest("tr").remove();
});

// -- archives and replays --------------------------------------------------------------------------------------
onSubmit("start-replay", async (form) => {
  const data = new FormData(form);
  const archive = form.querySelector("#replay-archive").selectedOptions[0];
  const rules = [...form.querySelectorAll("input[name=Rules]:checked")]
    .filter((box) => box.dataset.bus === archive.dataset.bus)
    .map((box) => box.value);
  // A bus with many rules has a text field of rule names instead of a checkbox each.
  for (const field of form.querySelectorAll("input[name=RuleNames]")) {
    if (field.dataset.bus !== archive.dataset.bus) continue;
    rules.push(...field.value.split(",").map((name) => name.trim()).filter(Boolean));
  }
  const answer = await call("POST", "/console/api/replays/start", {
    ReplayName: data.get("ReplayName"),
    ArchiveName: data.get("ArchiveName"),
    Start: data.get("Start"),
    End: data.get("End"),
    Rules: rules,
  });
  say(`Replay ${data.get("ReplayName")}: ${answer.State}.`);
  await refreshReplays();
});

async function refreshReplays() {
  const table = document.getElementById("replays");
  if (!table) return false;
  const { Replays: replays } = await call("GET", "/console/api/replays");
  const body = table.querySelector("tbody");
  body.replaceChildren();
  for (const replay of replays) {
    const row = element("tr", null, { "data-replay": replay.ReplayName });
    const progress = element("progress", `${replay.Progress} %`, {
      max: "100",
      value: String(replay.Progress),
      "aria-label": `Progress of ${replay.ReplayName}`,
    });
    const actions = element("td");
    if (replay.Active) {
      const cancel = element("button", "Cancel", { type: "button", class: "replay-cancel" });
      cancel.dataset.replay = replay.ReplayName;
      cancel.addEventListener("click", () => cancelReplay(cancel));
      actions.append(cancel);
    }
    const state = replay.State + (replay.StateReason ? ` (${replay.StateReason})` : "");
    row.append(
      element("td", replay.ReplayName),
      element("td", replay.Archive),
      element("td", state, { class: "replay-state" }),
      element("td", `${replay.EventStartTime} – ${replay.EventEndTime}`),
      element("td", replay.EventLastReplayedTime),
      element("td").appendChild(progress).parentNode,
      actions,
    );
    body.append(row);
  }
  return replays.some((r) => r.Active || r.State === "CANCELLING");
}

async function cancelReplay(button) {
  button.disabled = true;
  try {
    const answer = await call("POST", "/console/api/replays/cancel", { ReplayName: button.dataset.replay });
    say(`Replay ${button.dataset.replay}: ${answer.State}.`);
    await refreshReplays();
  } catch (error) {
    say(error.message, true);
    button.disabled = false;
  }
}

onClick(".replay-cancel", cancelReplay);

function watchReplays() {
  if (!document.getElementById("replays")) return;
  // Progress is polled every second while the page is open.
  window.setInterval(() => refreshReplays().catch((error) => say(error.message, true)), 1000);
}

// -- schedules -------------------------------------------------------------------------------------------------
onClick(".schedule-toggle", async (button) => {
  const answer = await call("POST", "/console/api/schedules/state", {
    Name: button.dataset.name,
    GroupName: button.dataset.group,
    State: button.dataset.state,
  });
  const enabled = answer.State === "ENABLED";
  button.closest("tr").querySelector(".schedule-state").textContent = answer.State;
  button.dataset.state = enabled ? "DISABLED" : "ENABLED";
  button.textContent = enabled ? "Disable" : "Enable";
  say(`Schedule ${answer.Name}: ${answer.State}.`);
});

// -- queues ----------------------------------------------------------------------------------------------------
onClick(".queue-peek", async (button) => {
  const answer = await call("GET", `/console/api/queues/peek?arn=${encodeURIComponent(button.dataset.arn)}`);
  const section = document.getElementById("peek");
  section.hidden = false;
  document.getElementById("peek-title").textContent = `Peek: ${button.dataset.name}`;
  const result = document.getElementById("peek-result");
  result.replaceChildren();
  if (!answer.Messages.length) {
    result.append(element("p", "The queue is empty."));
    return;
  }
  const table = element("table");
  const head = element("tr");
  for (const title of ["Message id", "Sent", "Receives", "In flight", "Body"]) head.append(element("th", title));
  table.append(element("thead").appendChild(head).parentNode);
  const body = element("tbody");
  for (const message of answer.Messages) {
    const row = element("tr");
    row.append(
      element("td", message.MessageId),
      element("td", message.SentTimestamp),
      element("td", message.ReceiveCount),
      element("td", message.InFlight ? "yes" : "no"),
      element("td").appendChild(element("pre", message.Body)).parentNode,
    );
    body.append(row);
  }
  table.append(body);
  result.append(table);
});

onClick(".queue-redrive", async (button) => {
  const answer = await call("POST", "/console/api/queues/redrive", { SourceArn: button.dataset.arn });
  say(`Move task started: ${answer.TaskHandle}.`);
});

// -- breakers ----------------------------------------------------------------------------------------------------
onClick(".breaker-action", async (button) => {
  const name = button.dataset.name;
  const answer = await call("POST", `/console/api/breakers/${encodeURIComponent(name)}/${button.dataset.action}`);
  const row = button.closest("tr");
  row.querySelector(".breaker-state").textContent = answer.State;
  row.querySelector(".breaker-parked").textContent = answer.Parked;
  if (button.dataset.action === "pause" || button.dataset.action === "resume") {
    const paused = answer.State === "PAUSED";
    button.dataset.action = paused ? "resume" : "pause";
    button.textContent = paused ? "Resume" : "Pause";
  }
  say(`Breaker ${name}: ${answer.State}.`);
});

startTail();
watchReplays();
