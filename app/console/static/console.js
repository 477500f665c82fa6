// Tramontane console: progressive enhancement only; every page works without this file.
"use strict";

// A form with data-confirm asks before it is sent; the server asks again when JavaScript is off.
document.addEventListener("submit", (event) => {
  const form = event.target;
  const question = form.dataset && form.dataset.confirm;
  if (!question) return;
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

// Live regions: an element with data-poll is refreshed from that URL while data-live is "true".
async function poll(element) {
  if (element.dataset.live !== "true" || document.hidden) return;
  try {
    const response = await fetch(element.dataset.poll, {credentials: "same-origin", headers: {"Accept": "text/html"}});
    if (response.ok) {
      element.innerHTML = await response.text();
      const live = element.querySelector("[data-live-state]");
      element.dataset.live = live ? live.dataset.liveState : "false";
    }
  } catch (error) { /* the next round tries again */ }
}

// The graph of a running execution: node classes follow the task states the fragment returns.
async function pollStates(graph) {
  if (graph.dataset.live !== "true" || document.hidden) return;
  try {
    const response = await fetch(graph.dataset.states, {credentials: "same-origin", headers: {"Accept": "application/json"}});
    if (!response.ok) return;
    const body = await response.json();
    for (const [task, state] of Object.entries(body.tasks)) {
      for (const node of graph.querySelectorAll("[data-task]")) {
        if (node.dataset.task !== task) continue;
        for (const name of [...node.classList]) if (name.startsWith("state-")) node.classList.remove(name);
        node.classList.add("state-" + state.toLowerCase());
      }
    }
    const badge = document.querySelector("[data-execution-state]");
    if (badge && badge.dataset.executionState !== body.state) {
      badge.dataset.executionState = body.state;
      badge.textContent = body.state;
      badge.className = "state state-" + body.state.toLowerCase();
    }
    if (!body.live) { graph.dataset.live = "false"; if (body.changed_page) window.location.reload(); }
  } catch (error) { /* the next round tries again */ }
}

// Clicking a node shows its task in the panel beside the graph (the link still opens it alone).
document.addEventListener("click", async (event) => {
  const link = event.target.closest && event.target.closest(".graph a[href]");
  const panel = document.getElementById("task-panel");
  if (!link || !panel || event.ctrlKey || event.metaKey || event.shiftKey) return;
  event.preventDefault();
  const url = new URL(link.getAttribute("href") || link.getAttribute("xlink:href"), window.location.href);
  url.searchParams.set("fragment", "1");
  const response = await fetch(url, {credentials: "same-origin"});
  panel.innerHTML = await response.text();
  for (const node of document.querySelectorAll(".graph [data-task].selected")) node.classList.remove("selected");
  const node = link.closest("[data-task]") || link.querySelector("[data-task]");
  if (node) node.classList.add("selected");
  panel.focus();
});

document.addEventListener("DOMContentLoaded", () => {
  const every = (ms, fn) => window.setInterval(fn, ms);
  for (const element of document.querySelectorAll("[data-poll]")) every(3000, () => poll(element));
  for (const graph of document.querySelectorAll("[data-states]")) every(2000, () => pollStates(graph));
});
