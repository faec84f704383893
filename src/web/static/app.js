// libris: what JavaScript adds to every page that works without it (copy buttons are
// connect.js's, uploads upload.js's, review keys review.js's). No inline script anywhere
// (the Content-Security-Policy forbids it): pages mark elements with data- attributes.
//
// - <form data-confirm="Delete this book?">: asks before it is sent.
// - <input data-autosubmit> inside a form: sends the form when its value changes (selects).
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  for (const form of document.querySelectorAll("form[data-confirm]")) {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  }
  for (const input of document.querySelectorAll("[data-autosubmit]")) {
    input.addEventListener("change", () => input.form && input.form.requestSubmit());
  }
});
