// The process modeler (bpmn-js / dmn-js served from this server) with a small properties form
// for what the runtime reads, and the task form editor with a server-rendered live preview.
// Everything talks to the page's own JSON endpoints (web/pages/modeler.py).
(function () {
  "use strict";

  function post(url, csrf, body) {
    return fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
      body: JSON.stringify(body)
    }).then(function (r) { return r.json().then(function (data) { return { ok: r.ok, status: r.status, data: data }; }); });
  }

  function getJson(url) {
    return fetch(url, { credentials: "same-origin" })
      .then(function (r) { return r.json().then(function (data) { return { ok: r.ok, data: data }; }); });
  }

  function el(tag, text, cls) {
    var node = document.createElement(tag);
    if (text !== undefined) { node.textContent = text; }
    if (cls) { node.className = cls; }
    return node;
  }

  function download(name, text) {
    var link = document.createElement("a");
    link.href = URL.createObjectURL(new Blob([text], { type: "application/octet-stream" }));
    link.download = name;
    document.body.appendChild(link);
    link.click();
    link.remove();
  }

  // -- diagram / decision table editor ----------------------------------------------------------
  var root = document.getElementById("modeler");
  if (root) { startModeler(root); }

  function startModeler(root) {
    var d = root.dataset;
    var output = document.getElementById("modeler-output");
    var canvasEl = document.getElementById("canvas");
    var Modeler = d.kind === "dmn" ? window.DmnJS : window.BpmnJS;
    var modeler = null;
    var selected = null;
    var basedOn = null;  // what this editor opened or last saved: a save over someone else's change is refused

    function say(text, cls) {
      output.textContent = "";
      output.appendChild(el("p", text, cls));
      return output;
    }

    if (typeof Modeler !== "function") { say(d.msgMissing, "error"); return; }

    function saveXml() { return modeler.saveXML({ format: true }).then(function (r) { return r.xml; }); }

    // bpmn-js and dmn-js speak English; a Chinese page gives them its words (web/static/modeler-zh.json)
    function translator(words) {
      return { translate: ["value", function (template, replacements) {
        var text = (words && words[template]) || template;
        return text.replace(/{([^}]+)}/g, function (all, key) {
          return replacements && replacements[key] !== undefined ? replacements[key] : all;
        });
      }] };
    }

    // the whole width when it can be read (a label at 80 % or more), else readable from the
    // diagram's left edge, beside the palette; a wide diagram scrolls
    function fitWidth(canvas) {
      var box = canvas.viewbox(), inner = box.inner, outer = box.outer, left = 110, margin = 30;
      if (!inner.width || !outer.width) { return; }
      var scale = Math.max(0.8, Math.min(1, (outer.width - left - margin) / inner.width));
      canvas.viewbox({ x: inner.x - left / scale, y: inner.y - margin / scale,
                       width: outer.width / scale, height: outer.height / scale });
    }

    function start(moddle, words) {
      var options = { container: canvasEl };
      var translate = translator(words);
      if (moddle) { options.moddleExtensions = { spiffworkflow: moddle }; }
      if (d.kind === "bpmn") { options.additionalModules = [translate]; }
      else {  // dmn-js takes modules per view
        ["drd", "decisionTable", "literalExpression", "boxedExpression"].forEach(function (view) {
          options[view] = { additionalModules: [translate] };
        });
      }
      canvasEl.textContent = "";
      modeler = new Modeler(options);
      return fetch(d.contentUrl, { credentials: "same-origin" })
        .then(function (r) { basedOn = r.headers.get("X-Content-Fingerprint"); return r.text(); })
        .then(function (xml) { return modeler.importXML(xml); })
        .then(function (result) {
          // what bpmn-js could not draw or understand (tests/browser/test_modeler.py expects none)
          root.dataset.importWarnings = String(((result && result.warnings) || []).length);
          if (d.kind === "dmn") {  // the analyst edits the table; the requirements graph is one click away
            var table = modeler.getViews().filter(function (v) { return v.type === "decisionTable"; })[0];
            return table && modeler.getActiveView() !== table ? modeler.open(table) : null;
          }
          return null;
        })
        .then(function () {
          if (d.kind === "bpmn") {
            fitWidth(modeler.get("canvas"));
            modeler.get("eventBus").on("selection.changed", function (e) { show(e.newSelection[0] || null); });
            modeler.get("eventBus").on("elements.changed", function () { if (selected) { show(selected); } });
            // a link may name the element to show: /modeler/appeal_handling.bpmn#ut_sign_for
            if (window.location.hash) { select(decodeURIComponent(window.location.hash.slice(1))); }
            window.addEventListener("hashchange", function () { select(decodeURIComponent(window.location.hash.slice(1))); });
          }
          root.dataset.ready = "1";
        });
    }

    function json(url) {
      return url ? fetch(url, { credentials: "same-origin" }).then(function (r) { return r.json(); }) : Promise.resolve(null);
    }
    var ready = Promise.all([json(d.kind === "bpmn" ? d.moddleUrl : null), json(d.translationsUrl)])
      .then(function (loaded) { return start(loaded[0], loaded[1]); });
    ready.catch(function (err) { say(d.msgFailed + " " + err.message, "error"); });

    // -- properties form (BPMN) --
    var form = document.getElementById("properties-form");

    function spiffProperties(bo) {
      var ext = bo.extensionElements;
      var props = ext && (ext.values || []).filter(function (v) { return v.$type === "spiffworkflow:Properties"; })[0];
      return props || null;
    }

    function laneOf(element) {
      var registry = modeler.get("elementRegistry");
      var lanes = registry.filter(function (e) { return e.type === "bpmn:Lane"; });
      var found = lanes.filter(function (lane) {
        return (lane.businessObject.flowNodeRef || []).some(function (n) { return n.id === element.id; });
      })[0];
      return found ? (found.businessObject.name || found.id) : "—";
    }

    function timerDefinition(bo) {
      return (bo.eventDefinitions || []).filter(function (e) { return e.$type === "bpmn:TimerEventDefinition"; })[0];
    }

    function describeTimer(bo) {
      var defs = (bo.eventDefinitions || []).filter(function (e) { return e.$type === "bpmn:TimerEventDefinition"; });
      return defs.map(function (t) {
        var expr = t.timeDate || t.timeDuration || t.timeCycle;
        return expr ? expr.body : "";
      }).join("\n");
    }

    function serviceOperator(bo) {
      var values = (bo.extensionElements && bo.extensionElements.values) || [];
      return values.filter(function (v) { return v.$type === "spiffworkflow:ServiceTaskOperator"; })[0] || null;
    }

    var operators = JSON.parse(d.operators || "{}");

    function operatorHelp() {
      var op = operators[form.elements.operator.value];
      form.querySelector("[data-prop=operator-help]").textContent = op
        ? d.msgParameters + (op.required.join("、") || "—") +
          (op.optional.length ? d.msgOptional + op.optional.join("、") : "")
        : "";
    }

    function parameterLines(op) {
      var params = (op && op.parameterList && op.parameterList.parameters) || [];
      return params.map(function (p) { return p.id + " (" + p.type + ") = " + p.value; }).join("\n");
    }

    // "name (type) = expression" per line -> [{id, type, value}], or the number of the first bad line
    function parseParameters(text) {
      var result = [], bad = 0;
      text.split("\n").forEach(function (line, i) {
        if (bad || !line.trim()) { return; }
        var m = /^\s*([A-Za-z_]\w*)\s*\((\w+)\)\s*=\s*(.+?)\s*$/.exec(line);
        if (m) { result.push({ id: m[1], type: m[2], value: m[3] }); } else { bad = i + 1; }
      });
      return bad ? bad : result;
    }

    var MILESTONE = "milestone:";

    // which declared properties an element has: user tasks (form, roles, status, deadline stage,
    // milestones), start and end events (the status they put the appeal in), timers (their stage)
    function declaredKind(element) {
      if (!element) { return null; }
      if (element.type === "bpmn:UserTask") { return "user"; }
      if (element.type === "bpmn:StartEvent" || element.type === "bpmn:EndEvent") { return "event"; }
      if (timerDefinition(element.businessObject)) { return "timer"; }
      return null;
    }

    // "name" or "name = condition" per line -> [[name, condition]], or the number of the first bad line
    function parseMilestones(text) {
      var result = [], bad = 0;
      text.split("\n").forEach(function (line, i) {
        if (bad || !line.trim()) { return; }
        var m = /^\s*([a-z][a-z0-9_]*)\s*(?:=\s*(.*?))?\s*$/.exec(line);
        if (m) { result.push([m[1], m[2] || ""]); } else { bad = i + 1; }
      });
      return bad ? bad : result;
    }

    function milestoneError(text) {
      var p = form.querySelector("[data-prop=milestones-error]");
      p.textContent = text; p.hidden = !text;
    }

    function updateDeclared(element, values, kind) {
      var moddle = modeler.get("moddle"), bo = element.businessObject;
      var ext = bo.extensionElements || moddle.create("bpmn:ExtensionElements", { values: [] });
      var props = spiffProperties(bo);
      if (!props) { props = moddle.create("spiffworkflow:Properties", { properties: [] }); ext.get("values").push(props); }
      var list = props.get("properties");
      function put(key, value) {
        var p = list.filter(function (x) { return x.name === key; })[0];
        if (p && value) { p.value = value; }
        else if (p) { list.splice(list.indexOf(p), 1); }
        else if (value) { list.push(moddle.create("spiffworkflow:Property", { name: key, value: value })); }
      }
      Object.keys(values.spiff).forEach(function (key) { put(key, values.spiff[key]); });
      if (kind === "user") {
        list.filter(function (x) { return x.name.indexOf(MILESTONE) === 0; })
          .forEach(function (x) { list.splice(list.indexOf(x), 1); });
        values.milestones.forEach(function (m) {
          list.push(moddle.create("spiffworkflow:Property", { name: MILESTONE + m[0], value: m[1] }));
        });
      }
      modeler.get("modeling").updateProperties(element, { extensionElements: ext });
    }

    function isBranching(element) {
      return element && /^bpmn:(ExclusiveGateway|InclusiveGateway)$/.test(element.type);
    }

    function show(element) {
      selected = element;
      if (!form) { return; }
      var empty = document.querySelector("#properties [data-empty]");
      if (!element || element.type === "bpmn:Process" || element.type === "bpmn:Collaboration") {
        form.hidden = true; empty.hidden = false; return;
      }
      form.hidden = false; empty.hidden = true;
      var bo = element.businessObject;
      form.querySelector("[data-prop=id]").textContent = bo.id;
      form.elements.id.value = bo.id;
      idError("");
      form.querySelector("[data-prop=type]").textContent = element.type.replace("bpmn:", "");
      form.querySelector("[data-prop=lane]").textContent = laneOf(element);
      form.elements.name.value = bo.name || "";
      var kind = declaredKind(element);
      form.querySelector("[data-group=declared]").hidden = !kind;
      if (kind) {
        var props = spiffProperties(bo), list = (props && props.properties) || [];
        form.querySelectorAll("[data-group=declared] [data-for]").forEach(function (div) {
          div.hidden = div.dataset.for.split(" ").indexOf(kind) < 0;
        });
        form.querySelectorAll("[data-spiff]").forEach(function (input) {
          var p = list.filter(function (x) { return x.name === input.dataset.spiff; })[0];
          input.value = p ? (p.value || "") : "";
        });
        form.elements.milestones.value = list.filter(function (x) { return x.name.indexOf(MILESTONE) === 0; })
          .map(function (x) { var n = x.name.slice(MILESTONE.length); return x.value ? n + " = " + x.value : n; })
          .join("\n");
        milestoneError("");
      }
      var timer = describeTimer(bo), script = bo.script || "";
      form.querySelector("[data-group=timer]").hidden = !timerDefinition(bo);
      form.elements.timer.value = timer;
      var op = serviceOperator(bo);
      form.querySelector("[data-group=service]").hidden = !op && element.type !== "bpmn:ServiceTask";
      form.elements.operator.value = op ? op.id : "";
      form.elements.result_variable.value = (op && op.resultVariable) || "";
      form.elements.parameters.value = parameterLines(op);
      parameterError("");
      operatorHelp();
      var flow = element.type === "bpmn:SequenceFlow";
      form.querySelector("[data-group=flow]").hidden = !flow;
      form.elements.condition.value = flow && bo.conditionExpression ? bo.conditionExpression.body : "";
      var branching = flow && isBranching(element.source);
      form.querySelector("[data-group=default-flow]").hidden = !branching;
      form.elements.default_flow.checked = branching && element.source.businessObject.default === bo;
      form.querySelector("[data-group=script]").hidden = element.type !== "bpmn:ScriptTask";
      form.elements.script.value = script;
    }

    if (form) {
      form.elements.operator.addEventListener("change", operatorHelp);
      form.addEventListener("submit", function (event) {
        event.preventDefault();
        if (!selected) { return; }
        // read every field first: each update below re-renders this form from the diagram
        var values = { id: form.elements.id.value.trim(), name: form.elements.name.value,
                       script: form.elements.script.value, timer: form.elements.timer.value.trim(), spiff: {} };
        form.querySelectorAll("[data-for]:not([hidden]) [data-spiff]").forEach(function (input) {
          values.spiff[input.dataset.spiff] = input.value.trim();
        });
        values.milestones = parseMilestones(form.elements.milestones.value);
        values.operator = form.elements.operator.value;
        values.resultVariable = form.elements.result_variable.value.trim();
        values.parameters = parseParameters(form.elements.parameters.value);
        values.condition = form.elements.condition.value.trim();
        values.defaultFlow = form.elements.default_flow.checked;
        var element = selected, bo = element.businessObject;
        var service = !form.querySelector("[data-group=service]").hidden;
        var kind = declaredKind(element);
        if (kind === "user" && typeof values.milestones === "number") {
          milestoneError(d.msgBadMilestone.replace("{n}", values.milestones)); return;
        }
        if (service && typeof values.parameters === "number") {
          parameterError(d.msgBadParameter.replace("{n}", values.parameters)); return;
        }
        var modeling = modeler.get("modeling");
        if (values.id !== bo.id) {  // IDs name the step in history, links and migrations: check before renaming
          if (!/^[A-Za-z_][\w.-]*$/.test(values.id)) { idError(d.msgBadId); return; }
          if (modeler.get("elementRegistry").get(values.id)) { idError(d.msgTakenId); return; }
          modeling.updateProperties(element, { id: values.id });
        }
        modeling.updateProperties(element, { name: values.name });
        if (element.type === "bpmn:ScriptTask") {
          modeling.updateProperties(element, { script: values.script });
        }
        var timerDef = timerDefinition(bo);
        if (timerDef) {  // the runtime reads the timer's expression text; keep its kind (date/duration/cycle)
          var expr = timerDef.timeDate || timerDef.timeDuration || timerDef.timeCycle;
          if (expr) { modeling.updateModdleProperties(element, expr, { body: values.timer }); }
        }
        if (kind) { updateDeclared(element, values, kind); }
        if (service) { updateService(element, values); }
        if (element.type === "bpmn:SequenceFlow") { updateFlow(element, values); }
      });
    }

    function updateService(element, values) {
      var moddle = modeler.get("moddle"), bo = element.businessObject;
      var ext = bo.extensionElements || moddle.create("bpmn:ExtensionElements", { values: [] });
      var op = serviceOperator(bo);
      if (!op) { op = moddle.create("spiffworkflow:ServiceTaskOperator", {}); ext.get("values").push(op); }
      op.id = values.operator;
      op.resultVariable = values.resultVariable || undefined;
      op.parameterList = moddle.create("spiffworkflow:Parameters", { parameters: values.parameters.map(function (p) {
        return moddle.create("spiffworkflow:Parameter", p);
      }) });
      modeler.get("modeling").updateProperties(element, { extensionElements: ext });
    }

    function updateFlow(element, values) {
      var modeling = modeler.get("modeling"), moddle = modeler.get("moddle"), bo = element.businessObject;
      var current = bo.conditionExpression ? bo.conditionExpression.body : "";
      if (values.condition !== current) {
        modeling.updateProperties(element, { conditionExpression: values.condition
          ? moddle.create("bpmn:FormalExpression", { body: values.condition }) : undefined });
      }
      var gateway = element.source;
      if (!isBranching(gateway)) { return; }
      var isDefault = gateway.businessObject.default === bo;
      if (values.defaultFlow && !isDefault) { modeling.updateProperties(gateway, { "default": bo }); }
      if (!values.defaultFlow && isDefault) { modeling.updateProperties(gateway, { "default": undefined }); }
    }

    function parameterError(text) {
      var box = form.querySelector("[data-prop=parameters-error]");
      box.textContent = text;
      box.hidden = !text;
    }

    function idError(text) {
      var box = form.querySelector("[data-prop=id-error]");
      box.textContent = text;
      box.hidden = !text;
    }

    function select(id) {
      if (d.kind !== "bpmn") { return; }
      var element = modeler.get("elementRegistry").get(id);
      if (!element) { return; }
      var canvas = modeler.get("canvas");
      canvas.zoom(1);  // readable, then bring the element into view
      canvas.scrollToElement(element);
      modeler.get("selection").select(element);
    }

    function showProblems(problems) {
      if (!problems.length) { say(d.msgNoProblems, "ok"); return; }
      var box = say(d.msgProblems, "error");
      var list = el("ul", undefined, "problems");
      problems.forEach(function (p) {
        var item = el("li");
        var where = p.file + (p.element_id ? " · " + p.element_id : "");
        if (p.element_id && p.file === d.name) {
          var link = el("a", where);
          link.href = "#";
          link.addEventListener("click", function (e) { e.preventDefault(); select(p.element_id); });
          item.appendChild(link);
        } else { item.appendChild(el("code", where)); }
        item.appendChild(document.createTextNode(" " + p.message));
        list.appendChild(item);
      });
      box.appendChild(list);
    }

    function saveDraft() {
      return saveXml().then(function (xml) { return post(d.draftUrl, d.csrf, { xml: xml, based_on: basedOn }); })
        .then(function (r) {
          if (!r.ok) { throw new Error((r.data.errors || []).join(" ")); }
          basedOn = r.data.fingerprint;
          return r;
        });
    }

    function fail(err) { say(d.msgFailed + " " + err.message, "error"); }

    var actions = {
      save: function () { return saveDraft().then(function (r) { say(r.data.message, "ok"); }); },
      diff: function () {
        return saveDraft().then(function () { return getJson(d.diffUrl); }).then(function (r) {
          var data = r.data;
          if (!data.added.length && !data.removed.length && !data.changed.length) { say(d.msgNoDiff); return; }
          var box = say("");
          [["added", d.msgAdded], ["removed", d.msgRemoved], ["changed", d.msgChanged]].forEach(function (pair) {
            if (!data[pair[0]].length) { return; }
            var section = el("div", undefined, "diff-" + pair[0]);
            section.appendChild(el("h3", pair[1] + " (" + data[pair[0]].length + ")"));
            var list = el("ul");
            data[pair[0]].forEach(function (e) {
              var item = el("li");
              var link = el("a", e.id);
              link.href = "#";
              link.addEventListener("click", function (ev) { ev.preventDefault(); select(e.id); });
              item.appendChild(link);
              if (e.name) { item.appendChild(document.createTextNode(" 「" + e.name + "」")); }
              list.appendChild(item);
            });
            section.appendChild(list);
            box.appendChild(section);
          });
        });
      },
      validate: function () {
        return saveDraft().then(function () { return getJson(d.validateUrl); })
          .then(function (r) { showProblems(r.data.problems); });
      },
      deploy: function () {
        if (!window.confirm(d.msgConfirmDeploy)) { return Promise.resolve(); }
        return saveDraft().then(function () { return post(d.deployUrl, d.csrf, { confirm: true }); }).then(function (r) {
          if (r.data.problems) { showProblems(r.data.problems); return; }
          if (!r.ok) { throw new Error((r.data.errors || []).join(" ")); }
          say(r.data.message, "ok deployed");
        });
      },
      download: function () { return saveXml().then(function (xml) { download(d.name, xml); }); },
      write: function () {
        return saveDraft().then(function () { return post(d.writeUrl, d.csrf, {}); }).then(function (r) {
          if (!r.ok) { throw new Error((r.data.errors || []).join(" ")); }
          say(r.data.message, "ok");
        });
      }
    };

    root.querySelectorAll("[data-action]").forEach(function (button) {
      button.addEventListener("click", function (event) {
        event.preventDefault();
        if (!modeler) { return; }
        actions[button.dataset.action]().catch(fail);
      });
    });
  }

  // -- form editor ------------------------------------------------------------------------------
  var editor = document.getElementById("form-editor");
  if (editor) { startFormEditor(editor); }

  function startFormEditor(editor) {
    var d = editor.dataset;
    var preview = document.getElementById("form-preview");
    var timer = null;

    function render() {
      post(d.previewUrl, d.csrf, { schema: editor.elements.schema.value, ui: editor.elements.ui.value })
        .then(function (r) {
          editor.querySelectorAll("[data-errors]").forEach(function (box) {
            var messages = (r.data.errors || {})[box.dataset.errors] || [];
            box.textContent = messages.join(" ");
            box.parentNode.classList.toggle("field-error", messages.length > 0);
          });
          // the HTML is rendered by the server's own templates (escaped), like the task pages
          if (r.ok) { preview.innerHTML = r.data.html; }
        });
    }

    ["schema", "ui"].forEach(function (key) {
      editor.elements[key].addEventListener("input", function () {
        clearTimeout(timer);
        timer = setTimeout(render, 400);
      });
    });
    editor.querySelectorAll("[data-download]").forEach(function (button) {
      button.addEventListener("click", function () {
        var key = button.dataset.download;
        download(key === "schema" ? d.name : d.uiName, editor.elements[key].value);
      });
    });
    render();
  }
})();
