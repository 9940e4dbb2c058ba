// The menu's groups (web/nav.py): one open at a time, closed by a click elsewhere or Escape.
(function () {
  "use strict";
  var groups = document.querySelectorAll(".menu-group");
  function closeAll(except) {
    groups.forEach(function (g) { if (g !== except) { g.removeAttribute("open"); } });
  }
  groups.forEach(function (g) {
    g.addEventListener("toggle", function () { if (g.open) { closeAll(g); } });
  });
  document.addEventListener("click", function (e) { if (!e.target.closest(".menu-group")) { closeAll(null); } });
  document.addEventListener("keydown", function (e) { if (e.key === "Escape") { closeAll(null); } });
}());
