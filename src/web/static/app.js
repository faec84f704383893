// libris: what JavaScript adds to pages that work without it. No inline script anywhere
// (the Content-Security-Policy forbids it): pages mark elements with data- attributes.
//
// - <button type="button" data-copy="text" hidden>Copy</button>: shown, copies its text.
// - <form data-confirm="Delete this book?">: asks before it is sent.
// - <input data-autosubmit> inside a form: sends the form when its value changes (selects).
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  for (const button of document.querySelectorAll("button[data-copy]")) {
    if (!navigator.clipboard) continue;
    button.hidden = false;
    button.addEventListener("click", async () => {
      const label = button.textContent;
      try {
        await navigator.clipboard.writeText(button.dataset.copy);
        button.textContent = "Copied";
      } catch {
        button.textContent = "Copy failed";
      }
      setTimeout(() => { button.textContent = label; }, 1600);
    });
  }
  for (const form of document.querySelectorAll("form[data-confirm]")) {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  }
  for (const input of document.querySelectorAll("[data-autosubmit]")) {
    input.addEventListener("change", () => input.form && input.form.requestSubmit());
  }
});
