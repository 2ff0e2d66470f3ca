// Berth's portal script. The pages work without it; it adds live
// progress (an element with data-poll refreshes itself from its page
// until its replacement no longer asks to), and copy buttons
// (data-copy names the element whose text to copy).
"use strict";

function poll(el) {
  const every = parseInt(el.dataset.poll, 10) || 2000;
  setTimeout(async () => {
    try {
      const res = await fetch(el.dataset.pollUrl || location.href, {
        headers: { "X-Berth-Fragment": "1" },
        credentials: "same-origin",
      });
      if (!res.ok) { return; }
      const box = document.createElement("div");
      box.innerHTML = await res.text();
      const next = box.firstElementChild;
      if (!next) { return; }
      el.replaceWith(next);
      start(next);
    } catch (e) {
      poll(el); // try again later
    }
  }, every);
}

function copy(button) {
  button.addEventListener("click", async () => {
    const target = document.getElementById(button.dataset.copy);
    if (!target) { return; }
    try {
      await navigator.clipboard.writeText(target.textContent.trim());
      button.textContent = button.dataset.copied || "✓";
    } catch (e) {
      const range = document.createRange();
      range.selectNodeContents(target);
      const sel = window.getSelection();
      sel.removeAllRanges();
      sel.addRange(range);
    }
  });
}

function start(root) {
  if (root.matches && root.matches("[data-poll]")) { poll(root); }
  root.querySelectorAll("[data-poll]").forEach(poll);
  root.querySelectorAll("button[data-copy]").forEach(copy);
}

document.addEventListener("DOMContentLoaded", () => start(document));
