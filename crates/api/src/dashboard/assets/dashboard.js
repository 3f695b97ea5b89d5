// claimd dashboard: the only script, and an optional one (every page works without it).
// Schema editor: "Add an attribute" appends a row numbered after the last one.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
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
});
