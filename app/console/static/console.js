// Tramontane console: progressive enhancement only; every page works without this file.
"use strict";

// A form with data-confirm asks before it is sent; the server asks again when JavaScript is off.
document.addEventListener("submit", (event) => {
  const form = event.target;
  const question = form.dataset && form.dataset.confirm;
  // A form the JSON check below already stopped is not asked about: it will not be sent.
  if (!question || event.defaultPrevented) return;
  if (!window.confirm(question)) { event.preventDefault(); return; }
  const confirmed = document.createElement("input");
  confirmed.type = "hidden"; confirmed.name = "confirmed"; confirmed.value = "1";
  form.appendChild(confirmed);
});

// A JSON field (textarea[data-json]) is checked before its form is sent.
document.addEventListener("submit", (event) => {
  for (const field of event.target.querySelectorAll("[data-json]")) {
    const message = field.parentElement.querySelector(".field-error");
    const text = field.value.trim();
    let problem = "";
    if (text) {
      try { JSON.parse(text); } catch (error) { problem = "Not valid JSON: " + error.message; }
    } else if (field.required) { problem = "A JSON value is required."; }
    field.setCustomValidity(problem);
    if (message) message.textContent = problem;
    if (problem) { event.preventDefault(); field.reportValidity(); field.focus(); return; }
  }
}, true);
document.addEventListener("input", (event) => {
  if (event.target.matches && event.target.matches("[data-json]")) event.target.setCustomValidity("");
});

// Live regions: an element with data-poll is refreshed from that URL every round while data-live is
// "true"; one with data-poll-idle="true" also every IDLE_ROUNDS rounds when nothing in it is live, so
// that what started elsewhere shows up (the first page of the executions list).
const IDLE_ROUNDS = 4;
let pollRound = 0;
async function poll(element) {
  if (document.hidden) return;
  const idleTurn = element.dataset.pollIdle === "true" && pollRound % IDLE_ROUNDS === 0;
  if (element.dataset.live !== "true" && !idleTurn) return;
  try {
    const response = await fetch(element.dataset.poll, {credentials: "same-origin", headers: {"Accept": "text/html"}});
    if (response.ok) {
      element.innerHTML = await response.text();
      const live = element.querySelector("[data-live-state]");
      element.dataset.live = live ? live.dataset.liveState : "false";
    }
  } catch (error) { /* the next round tries again */ }
}

// Selecting a node of the graph (graph.js) shows its task in the panel beside the graph; the node's
// link still opens the task alone with a modifier key or without JavaScript.
document.addEventListener("tramontane:task-select", async (event) => {
  const panel = document.getElementById("task-panel");
  if (!panel || !event.detail.href) return;
  event.preventDefault();
  const url = new URL(event.detail.href, window.location.href);
  url.searchParams.set("fragment", "1");
  try {
    const response = await fetch(url, {credentials: "same-origin"});
    // A refusal (the session ended, the execution was deleted) is a whole page: it is shown as one.
    if (!response.ok) { window.location.assign(event.detail.href); return; }
    panel.innerHTML = await response.text();
    panel.focus();
  } catch (error) { window.location.assign(event.detail.href); }
});

// When a live graph stops (its execution ended), the page is read again: output, failures and the
// recovery buttons follow the new state.
function reloadWhenDone(holder) {
  const figure = holder.querySelector(".wf-graph[data-states-url]");
  if (!figure) return;
  new MutationObserver(() => {
    if (figure.getAttribute("data-live") === "false") window.location.reload();
  }).observe(figure, {attributes: true, attributeFilter: ["data-live"]});
}

document.addEventListener("DOMContentLoaded", () => {
  const every = (ms, fn) => window.setInterval(fn, ms);
  const polled = document.querySelectorAll("[data-poll]");
  if (polled.length) every(3000, () => { pollRound += 1; for (const element of polled) poll(element); });
  for (const holder of document.querySelectorAll("[data-reload-when-done]")) reloadWhenDone(holder);
});
