// Progressive enhancement only: the shop works without it.
"use strict";
// A form sends once: its buttons are disabled right after the first submit.
document.addEventListener("submit", (e) => {
  const form = e.target;
  setTimeout(() => form.querySelectorAll("button").forEach((b) => { b.disabled = true; b.setAttribute("aria-busy", "true"); }), 0);
});
// The token's expiry counts down.
const expiry = document.querySelector("[data-exp]");
if (expiry) {
  const tick = () => {
    let s = Math.max(0, Number(expiry.dataset.exp) - Math.floor(Date.now() / 1000));
    const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60); s %= 60;
    expiry.textContent = "in " + (h ? h + " h " : "") + (h || m ? m + " min " : "") + s + " s";
  };
  tick();
  setInterval(tick, 1000);
}
// Copy buttons appear where the clipboard is available.
document.querySelectorAll("[data-copy]").forEach((b) => {
  if (!navigator.clipboard) return;
  b.hidden = false;
  b.addEventListener("click", async () => {
    await navigator.clipboard.writeText(document.getElementById(b.dataset.copy).value);
    b.textContent = "Copied";
  });
});
// Coming back with the Back button re-enables them.
window.addEventListener("pageshow", (e) => {
  if (e.persisted) document.querySelectorAll("button[aria-busy]").forEach((b) => { b.disabled = false; b.removeAttribute("aria-busy"); });
});
