// The workflow graph (app/console/graph_svg.py): selecting a task, live task states, fit or actual size.
// Plain ES2017, no build step, no inline handlers: everything hangs off data-* attributes and classes.
"use strict";

(function () {
  const NODE = ".wf-graph [data-task]";
  const FINISHED = ["SUCCESS", "ERROR", "CANCELLED", "SKIPPED"];

  function stateClass(state) {
    if (!state) return "state-none";
    return "state-" + (String(state).toLowerCase().replace(/[^a-z0-9_-]/g, "") || "unknown");
  }

  function describe(node, state) {
    const summary = node.getAttribute("data-summary") || "";
    return ("Task " + node.getAttribute("data-task") + ", " + (state || "not started") + ". " + summary).trim();
  }

  const FOLLOWED = {SUCCESS: ["on-success", "on-complete"], ERROR: ["on-error", "on-complete"], SKIPPED: ["on-skip"]};

  // Marks the edges taken: `nextTasks` is {task name: [names its transitions started]}; of the
  // edges to one of those, the kinds the task's end state follows (as graph_model.fired does).
  function applyNextTasks(figure, nextTasks) {
    const states = {};
    for (const node of figure.querySelectorAll("[data-task]")) states[node.getAttribute("data-task")] = node.getAttribute("data-state");
    const edges = Array.from(figure.querySelectorAll(".wf-edge[data-source]"));
    const skips = new Set(edges.filter((e) => e.classList.contains("kind-on-skip")).map((e) => e.getAttribute("data-source")));
    for (const edge of edges) {
      const source = edge.getAttribute("data-source");
      const started = nextTasks[source] || [];
      let taken = started.indexOf(edge.getAttribute("data-target")) >= 0;
      if (taken && FOLLOWED[states[source]]) {
        const followed = states[source] === "SKIPPED" && !skips.has(source) ? ["on-success"] : FOLLOWED[states[source]];
        taken = followed.some((kind) => edge.classList.contains("kind-" + kind));
      }
      edge.classList.toggle("fired", taken);
    }
  }

  // Colours every task of the figure by `states` ({task name: state}); a task absent has not run.
  function applyStates(figure, states, nextTasks) {
    const known = states || {};
    for (const node of figure.querySelectorAll("[data-task]")) {
      const name = node.getAttribute("data-task");
      const state = Object.prototype.hasOwnProperty.call(known, name) ? known[name] : "";
      if ((node.getAttribute("data-state") || "") === (state || "")) continue;
      for (const cls of Array.from(node.classList)) if (cls.indexOf("state-") === 0) node.classList.remove(cls);
      node.classList.add(stateClass(state));
      node.setAttribute("data-state", state || "");
      node.setAttribute("aria-label", describe(node, state));
      const title = node.querySelector("title");
      if (title) {
        const lines = title.textContent.split("\n");
        lines[0] = name + " (" + (state || "not started") + ")";
        title.textContent = lines.join("\n");
      }
    }
    if (nextTasks) applyNextTasks(figure, nextTasks);
    figure.dispatchEvent(new CustomEvent("tramontane:graph-updated", {bubbles: true, detail: {states: known}}));
  }

  // Marks `node` as the selected task; tells the page, which may show the task in place
  // (by cancelling the event) instead of following the node's link.
  function select(node, originalEvent) {
    const figure = node.closest(".wf-graph");
    for (const other of figure.querySelectorAll("[data-task].selected")) {
      other.classList.remove("selected");
      other.removeAttribute("aria-current");
    }
    node.classList.add("selected");
    node.setAttribute("aria-current", "true");
    const event = new CustomEvent("tramontane:task-select", {
      bubbles: true, cancelable: true,
      detail: {task: node.getAttribute("data-task"), state: node.getAttribute("data-state") || null,
               href: node.getAttribute("href") || node.getAttribute("xlink:href") || null, node: node},
    });
    const proceed = figure.dispatchEvent(event);
    if (!proceed && originalEvent) originalEvent.preventDefault();
    return proceed;
  }

  document.addEventListener("click", (event) => {
    if (event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey || event.altKey) return;
    const node = event.target.closest && event.target.closest(NODE);
    if (node) select(node, event);
  });

  document.addEventListener("keydown", (event) => {
    const node = event.target.closest && event.target.closest(NODE);
    if (!node) return;
    const nodes = Array.from(node.closest(".wf-graph").querySelectorAll("[data-task]"));
    const at = nodes.indexOf(node);
    if (event.key === "ArrowDown" || event.key === "ArrowRight") {
      event.preventDefault();
      nodes[Math.min(nodes.length - 1, at + 1)].focus();
    } else if (event.key === "ArrowUp" || event.key === "ArrowLeft") {
      event.preventDefault();
      nodes[Math.max(0, at - 1)].focus();
    } else if (event.key === "Home" || event.key === "End") {
      event.preventDefault();
      nodes[event.key === "Home" ? 0 : nodes.length - 1].focus();
    } else if (event.key === " " || (event.key === "Enter" && !node.hasAttribute("href"))) {
      // A link already answers Enter with a click; the space bar and button-like nodes need one.
      event.preventDefault();
      node.dispatchEvent(new MouseEvent("click", {bubbles: true, cancelable: true, view: window}));
    }
  });

  // Live states: the figure's data-states-url answers {"tasks": {...}, "done": bool} (or "live").
  function watch(figure) {
    const url = figure.getAttribute("data-states-url");
    const every = Math.max(500, parseInt(figure.getAttribute("data-poll-ms"), 10) || 2000);
    let failures = 0;
    let timer = null;
    const schedule = (ms) => { timer = window.setTimeout(round, ms); };
    async function round() {
      timer = null;
      if (!figure.isConnected) return;
      if (document.hidden) { document.addEventListener("visibilitychange", resume, {once: true}); return; }
      try {
        const response = await fetch(url, {credentials: "same-origin", headers: {"Accept": "application/json"}});
        if (!response.ok) throw new Error("HTTP " + response.status);
        const body = await response.json();
        failures = 0;
        applyStates(figure, body.tasks || {}, body.next_tasks);
        const ended = body.done === true || body.live === false || FINISHED.indexOf(body.state) >= 0;
        if (ended) { figure.setAttribute("data-live", "false"); return; }
      } catch (error) {
        failures += 1;  // the server or the network is away: ask less often, up to a minute apart
      }
      schedule(Math.min(60000, every * Math.pow(2, Math.min(failures, 5))));
    }
    function resume() { if (timer === null) round(); }
    figure.setAttribute("data-live", "true");
    schedule(every);
  }

  // "Fit to width" (the default) or the actual size, scrolled inside the frame.
  function sizeToggle(figure) {
    const button = figure.querySelector(".wf-graph-fit");
    const svg = figure.querySelector(".wf-graph-svg");
    const scroll = figure.querySelector(".wf-graph-scroll");
    if (!button || !svg || !scroll) return;
    const update = () => {
      const actual = figure.classList.contains("actual-size");
      button.textContent = actual ? "Fit to width" : "Actual size";
      button.setAttribute("aria-pressed", actual ? "true" : "false");
    };
    const natural = parseFloat(svg.getAttribute("width")) || 0;
    // Only a graph wider than its frame has an actual size worth offering.
    button.hidden = natural <= scroll.clientWidth + 1;
    button.addEventListener("click", () => { figure.classList.toggle("actual-size"); update(); });
    update();
  }

  function start() {
    for (const figure of document.querySelectorAll(".wf-graph")) {
      if (figure.getAttribute("data-graph-ready")) continue;
      figure.setAttribute("data-graph-ready", "true");
      sizeToggle(figure);
      if (figure.getAttribute("data-states-url")) watch(figure);
      // Another script that already has the states can hand them over with this event.
      figure.addEventListener("tramontane:task-states", (event) => {
        const detail = event.detail || {};
        applyStates(figure, detail.tasks || detail, detail.next_tasks);
      });
    }
  }

  window.TramontaneGraph = {applyStates: applyStates, select: select, start: start};
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
