// claimd dashboard: the only script, and an optional one (every page works without it).
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  attributeEditor();
  liveProgress();
});

// Schema editor: "Add an attribute" appends a row numbered after the last one.
function attributeEditor() {
  var add = document.getElementById("add-attr");
  var rows = document.getElementById("attr-rows");
  if (!add || !rows) return;
  add.hidden = false;
  add.addEventListener("click", function () {
    var last = rows.lastElementChild;
    if (!last || rows.children.length >= 64) return;
    var next = rows.children.length;
    var row = last.cloneNode(true);
    row.querySelectorAll("input, select").forEach(function (el) {
      el.name = el.name.replace(/^attr-\d+-/, "attr-" + next + "-");
      var label = el.getAttribute("aria-label");
      if (label) el.setAttribute("aria-label", label.replace(/\d+/, String(next + 1)));
      if (el.type === "checkbox") el.checked = false;
      else if (el.tagName === "SELECT") el.selectedIndex = 0;
      else el.value = "";
    });
    rows.appendChild(row);
    row.querySelector("input").focus();
  });
}

// Bulk job: while the job runs, its progress fragment (server-rendered, escaped there) is
// fetched every 2 s and swapped in; when the job finishes, the page reloads once so its
// buttons match the final state. A lost session reloads too (onto the sign-in page).
function liveProgress() {
  var box = document.getElementById("bulk-progress");
  if (!box || box.dataset.final === "true") return;
  var url = box.dataset.poll;
  var timer = setInterval(function () {
    fetch(url, { credentials: "same-origin", cache: "no-store" })
      .then(function (res) {
        if (!res.ok || res.redirected) {
          clearInterval(timer);
          location.reload();
          return null;
        }
        return res.text();
      })
      .then(function (html) {
        if (html === null) return;
        var holder = document.createElement("div");
        holder.innerHTML = html;
        var fresh = holder.querySelector("#bulk-progress");
        if (!fresh) return;
        box.replaceWith(fresh);
        box = fresh;
        if (fresh.dataset.final === "true") {
          clearInterval(timer);
          location.reload();
        }
      })
      .catch(function () {});
  }, 2000);
}
