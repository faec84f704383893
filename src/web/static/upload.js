/* upload.js: the inbox's uploads with JavaScript on. Files dropped on the form or chosen
   with its picker go one request each (XMLHttpRequest, for upload progress), the CSRF token
   in the x-csrf-token header, and each file's outcome is shown in its row as the server
   words it (JSON parts, set as text). Without this script the form posts as is. */
(function () {
  "use strict";
  var form = document.getElementById("upload");
  if (!form || !window.XMLHttpRequest || !window.FormData) return;
  var input = document.getElementById("files");
  var list = document.getElementById("upload-progress");
  var token = form.querySelector("input[name=_csrf]");

  function row(file) {
    var li = document.createElement("li");
    li.className = "outcome pending";
    var name = document.createElement("strong");
    name.textContent = file.name;
    var bar = document.createElement("progress");
    bar.max = 100;
    bar.value = 0;
    bar.setAttribute("aria-label", "Uploading " + file.name);
    var said = document.createElement("span");
    said.textContent = " uploading…";
    li.appendChild(name);
    li.appendChild(document.createTextNode(" "));
    li.appendChild(bar);
    li.appendChild(said);
    list.appendChild(li);
    return { li: li, bar: bar, said: said };
  }

  function tell(r, told) {
    r.li.className = "outcome " + told.kind;
    r.bar.remove();
    r.said.textContent = " — ";
    (told.parts || []).forEach(function (p) {
      if (p.href) {
        var a = document.createElement("a");
        a.href = p.href;
        a.textContent = p.text;
        r.said.appendChild(a);
      } else {
        r.said.appendChild(document.createTextNode(p.text));
      }
    });
  }

  function failed(r, why) {
    r.li.className = "outcome refused";
    r.bar.remove();
    r.said.textContent = " — Not uploaded: " + why;
  }

  function send(file, done) {
    var r = row(file);
    var body = new FormData();
    body.append("_csrf", token ? token.value : "");
    body.append("file", file, file.name);
    var xhr = new XMLHttpRequest();
    xhr.open("POST", form.action);
    xhr.setRequestHeader("Accept", "application/json");
    if (token) xhr.setRequestHeader("x-csrf-token", token.value);
    xhr.upload.addEventListener("progress", function (e) {
      if (e.lengthComputable) r.bar.value = Math.round((e.loaded / e.total) * 100);
    });
    xhr.addEventListener("load", function () {
      var answer = null;
      try { answer = JSON.parse(xhr.responseText); } catch (e) { answer = null; }
      if (answer && answer.files && answer.files.length) {
        tell(r, answer.files[0]);
      } else if (answer && answer.error) {
        failed(r, answer.error);
      } else if (xhr.status === 403) {
        failed(r, "this page has expired; reload it and try again.");
      } else {
        failed(r, "the server answered " + xhr.status + ".");
      }
      done();
    });
    xhr.addEventListener("error", function () {
      failed(r, "the connection broke off.");
      done();
    });
    xhr.send(body);
  }

  /* One file at a time: a household's upload link is shared by every file anyway. */
  function sendAll(files) {
    var queue = Array.prototype.slice.call(files);
    if (!queue.length) return;
    var next = function () {
      var file = queue.shift();
      if (file) {
        send(file, next);
      } else {
        var again = document.createElement("li");
        var a = document.createElement("a");
        a.href = "/inbox";
        a.textContent = "Reload the queue";
        again.appendChild(a);
        list.appendChild(again);
      }
    };
    next();
  }

  form.addEventListener("submit", function (e) {
    e.preventDefault();
    sendAll(input.files);
    input.value = "";
  });
  input.removeAttribute("required");
  ["dragenter", "dragover"].forEach(function (type) {
    form.addEventListener(type, function (e) {
      e.preventDefault();
      form.classList.add("over");
    });
  });
  ["dragleave", "drop"].forEach(function (type) {
    form.addEventListener(type, function () {
      form.classList.remove("over");
    });
  });
  form.addEventListener("drop", function (e) {
    e.preventDefault();
    if (e.dataTransfer && e.dataTransfer.files) sendAll(e.dataTransfer.files);
  });
})();
