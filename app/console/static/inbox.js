// The inbox of actions waiting for a callback, kept current without losing what is being typed.
// Each round fetches the list again and merges it: new actions appear in their place, the facts of
// those still waiting (their age, the request once it is recorded) are refreshed, and one completed
// elsewhere goes away, unless its forms are in use: then it stays and says so (sending it anyway
// gets the service's refusal, shown as the answer).
"use strict";

(() => {
  const list = document.querySelector("[data-inbox-poll]");
  if (!list) return;

  const cards = (root) => new Map([...root.querySelectorAll("article[data-action]")].map((c) => [c.dataset.action, c]));

  const inUse = (card) => card.contains(document.activeElement) ||
    [...card.querySelectorAll("textarea, input[type=text]")].some((field) => field.value.trim() !== "");

  function merge(fresh) {
    const now = cards(list);
    const next = cards(fresh);
    for (const [id, card] of now) {
      if (next.has(id) || card.classList.contains("gone")) continue;
      if (!inUse(card)) { card.remove(); continue; }
      card.classList.add("gone");
      const note = document.createElement("p");
      note.className = "flash error";
      note.setAttribute("role", "status");
      note.textContent = "No longer waiting: this action was completed elsewhere.";
      card.prepend(note);
    }
    let previous = list.querySelector("[data-inbox-count]");
    for (const [id, card] of next) {
      const shown = now.get(id);
      if (shown) {
        for (const part of card.querySelectorAll("[data-part]")) {
          const old = shown.querySelector(`[data-part="${part.dataset.part}"]`);
          if (!old || old.contains(document.activeElement)) continue;
          const opened = old.querySelector("details[open]");
          if (opened && part.querySelector("details")) part.querySelector("details").open = true;
          old.replaceWith(part);
        }
        previous = shown;
      } else {
        previous.after(card);
        previous = card;
      }
    }
    const count = fresh.querySelector("[data-inbox-count]");
    const shownCount = list.querySelector("[data-inbox-count]");
    if (count && shownCount) shownCount.textContent = count.textContent;
  }

  async function refresh() {
    if (document.hidden) return;
    try {
      const response = await fetch(list.dataset.inboxPoll, {credentials: "same-origin", headers: {"Accept": "text/html"}});
      if (!response.ok) return;
      const fresh = document.createElement("div");
      fresh.innerHTML = await response.text();
      merge(fresh);
    } catch (error) { /* the next round tries again */ }
  }

  window.setInterval(refresh, 3000);
})();
