// connect.js: copy buttons (the Connect page, highlights). Each `button[data-copy]` is hidden in the
// HTML (without a script the address is there to select) and shown here; a click copies the
// attribute's value and says so on the button for a moment. On plain http (a server at home)
// browsers refuse the Clipboard API, so a selected scratch field and "copy" stand in.
(function () {
  "use strict";
  function fallback(text) {
    var field = document.createElement("textarea");
    field.value = text;
    field.setAttribute("readonly", "");
    field.className = "sr-only";
    document.body.appendChild(field);
    field.select();
    var ok = false;
    try {
      ok = document.execCommand("copy");
    } catch (e) {
      ok = false;
    }
    document.body.removeChild(field);
    return ok ? Promise.resolve() : Promise.reject(new Error("copy refused"));
  }
  function copy(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text).catch(function () { return fallback(text); });
    }
    return fallback(text);
  }
  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    var label = button.textContent;
    button.hidden = false;
    button.addEventListener("click", function () {
      copy(button.getAttribute("data-copy")).then(
        function () { button.textContent = "Copied"; },
        function () { button.textContent = "Select and copy it"; }
      ).then(function () {
        setTimeout(function () { button.textContent = label; }, 1500);
      });
    });
  });
})();
