/* review.js: one click takes a proposed value (the cell's radio is chosen and its value is
   copied into the final field); typing in a final field chooses "as typed" again. Keys,
   outside form fields: j or → the next book, k or ← the previous one, a approves. */
(function () {
  "use strict";
  var form = document.getElementById("approve");
  if (!form) return;

  /* app.js asks before a form[data-confirm] is sent: the server need not ask again. */
  var del = document.querySelector("form[data-confirm][action$='/delete']");
  if (del) {
    var yes = document.createElement("input");
    yes.type = "hidden";
    yes.name = "confirm";
    yes.value = "yes";
    del.appendChild(yes);
  }

  form.addEventListener("change", function (e) {
    var radio = e.target;
    if (radio.type !== "radio" || !radio.hasAttribute("data-value")) return;
    var field = radio.name.replace(/^pick_/, "");
    var input = document.getElementById("f-" + field);
    if (input) input.value = radio.getAttribute("data-value");
  });

  form.addEventListener("input", function (e) {
    var input = e.target;
    if (!input.id || input.id.indexOf("f-") !== 0) return;
    var typed = form.querySelector(
      "input[type=radio][name='pick_" + input.name + "'][value=typed]");
    if (typed) typed.checked = true;
  });

  function follow(rel) {
    var link = document.querySelector("a[rel=" + rel + "]");
    if (link) window.location.href = link.href;
  }

  document.addEventListener("keydown", function (e) {
    if (e.ctrlKey || e.metaKey || e.altKey || e.defaultPrevented) return;
    var t = e.target;
    var tag = t && t.tagName;
    if (tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || (t && t.isContentEditable)) return;
    if (e.key === "j" || e.key === "ArrowRight") {
      follow("next");
    } else if (e.key === "k" || e.key === "ArrowLeft") {
      follow("prev");
    } else if (e.key === "a") {
      e.preventDefault();
      if (form.requestSubmit) form.requestSubmit(); else form.submit();
    }
  });
})();
