// The monitor's diagram: bpmn-js (served from this server) shows the version an instance is
// pinned to, colours each element by what it did, and badges how often it ran (or, for a
// version, how many open tasks wait there). Data comes from the page's JSON endpoint.
(function () {
  "use strict";

  var container = document.getElementById("monitor-diagram");
  var selector = document.getElementById("diagram-process");
  if (!container) { return; }
  var msg = container.dataset;

  function showError(text) {
    container.textContent = "";
    var p = document.createElement("p");
    p.className = "diagram-error";
    p.setAttribute("role", "alert");
    p.textContent = text;
    container.appendChild(p);
  }

  if (typeof window.BpmnJS !== "function") {
    showError(msg.msgMissing);
    return;
  }

  var viewer = null;
  var diagrams = {};
  var focusIds = [];

  // Zoom buttons in the card's toolbar (no inline handlers: the CSP allows scripts from files only).
  document.querySelectorAll("[data-zoom]").forEach(function (button) {
    button.addEventListener("click", function () {
      if (!viewer) { return; }
      var canvas = viewer.get("canvas");
      var how = button.dataset.zoom;
      if (how === "fit") { canvas.zoom("fit-viewport", "auto"); }
      else if (how === "in") { canvas.zoom(canvas.zoom() * 1.3); }
      else if (how === "out") { canvas.zoom(canvas.zoom() / 1.3); }
      else if (how === "focus") { focus(canvas); }
    });
  });

  // Show the elements that need attention (failed, overdue, active) at up to 100 %.
  function focus(canvas) {
    var registry = viewer.get("elementRegistry");
    var elements = focusIds.map(function (id) { return registry.get(id); }).filter(Boolean);
    if (!elements.length) { canvas.zoom("fit-viewport", "auto"); return; }
    var box = elements.reduce(function (b, e) {
      return { x1: Math.min(b.x1, e.x), y1: Math.min(b.y1, e.y), x2: Math.max(b.x2, e.x + e.width), y2: Math.max(b.y2, e.y + e.height) };
    }, { x1: Infinity, y1: Infinity, x2: -Infinity, y2: -Infinity });
    var outer = canvas.getSize();
    var width = Math.max(box.x2 - box.x1 + 160, outer.width);
    var height = Math.max(box.y2 - box.y1 + 160, outer.height);
    var scale = Math.min(outer.width / width, outer.height / height);
    width = outer.width / scale;
    height = outer.height / scale;
    canvas.viewbox({ x: (box.x1 + box.x2 - width) / 2, y: (box.y1 + box.y2 - height) / 2, width: width, height: height });
  }

  // In English, the tasks and timers the diagram names in English (a nameEn property) show that
  // name; the rest of the drawing is the analysts' text, shown as drawn.
  function inReadersLanguage(xml) {
    if (document.documentElement.lang !== "en") { return xml; }
    var doc = new DOMParser().parseFromString(xml, "application/xml");
    Array.prototype.forEach.call(doc.getElementsByTagNameNS("*", "property"), function (property) {
      var owner = property.parentNode && property.parentNode.parentNode && property.parentNode.parentNode.parentNode;
      if (property.getAttribute("name") === "nameEn" && owner && owner.hasAttribute("name")) {
        owner.setAttribute("name", property.getAttribute("value"));
      }
    });
    return new XMLSerializer().serializeToString(doc);
  }

  function badge(overlays, id, n, cls, title) {
    var el = document.createElement("div");
    el.className = "node-count " + cls;
    el.textContent = String(n);
    el.title = title;
    overlays.add(id, { position: { top: -9, right: 9 }, html: el });
  }

  function show(processId) {
    var diagram = diagrams[processId];
    if (!diagram) { return Promise.resolve(); }
    if (viewer) { viewer.destroy(); }
    container.textContent = "";
    viewer = new window.BpmnJS({ container: container });
    return viewer.importXML(inReadersLanguage(diagram.xml)).then(function () {
      var canvas = viewer.get("canvas");
      var registry = viewer.get("elementRegistry");
      var overlays = viewer.get("overlays");
      focusIds = [];
      Object.keys(diagram.states).forEach(function (id) {
        var state = diagram.states[id];
        var element = registry.get(id);
        if (!element) { return; }
        canvas.addMarker(id, "state-" + state);
        // an expanded subprocess is only outlined, so the steps inside it stay readable
        var container = element.businessObject.$type === "bpmn:SubProcess" && element.collapsed !== true;
        if (container) { canvas.addMarker(id, "container"); }
        else if (state === "failed" || state === "overdue" || state === "active") { focusIds.push(id); }
      });
      Object.keys(diagram.counts).forEach(function (id) {
        var element = registry.get(id);
        if (!element || element.waypoints) { return; }
        var instanceView = diagram.mode === "instance";
        if (!instanceView) { focusIds.push(id); }
        badge(overlays, id, diagram.counts[id], instanceView ? "run-count" : "waiting-count",
              instanceView ? msg.msgRuns : msg.msgWaiting);
      });
      // an instance opens on where it stands; a version on the whole diagram
      if (diagram.mode === "instance") { focus(canvas); } else { canvas.zoom("fit-viewport", "auto"); }
    }).catch(function (err) {
      showError(msg.msgFailed + " " + (err && err.message ? err.message : err));
    });
  }

  fetch(container.dataset.url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
    .then(function (response) {
      if (!response.ok) { throw new Error("HTTP " + response.status); }
      return response.json();
    })
    .then(function (data) {
      diagrams = data.diagrams;
      var mode = data.instance ? "instance" : "version";
      var ids = Object.keys(diagrams);
      ids.forEach(function (id, index) {
        diagrams[id].mode = mode;
        var option = document.createElement("option");
        option.value = id;
        option.textContent = (diagrams[id].name || id) + " · " + (index === 0 ? msg.msgMain : msg.msgCalled);
        if (selector) { selector.appendChild(option); }
      });
      if (selector) {
        selector.addEventListener("change", function () { show(selector.value); });
        selector.disabled = ids.length < 2;
      }
      return show(ids[0]);
    })
    .catch(function (err) { showError(msg.msgFailed + " " + err.message); });
}());
