// Intake console and dispatch page: decision panels, Art. 13 guidance templates, knowledge
// base suggestions while typing, likely duplicates, a call timer; on the dispatch page, the
// unit tree filter. Everything is also usable without this script (the server re-checks).
(function () {
  "use strict";

  function debounce(fn, ms) {
    let timer = null;
    return function () { clearTimeout(timer); timer = setTimeout(fn, ms); };
  }

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  function getJSON(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : { items: [] }; })
      .catch(function () { return { items: [] }; });
  }

  function initConsole(form) {
    const msg = form.dataset;
    const content = document.getElementById("f-content");
    const phone = document.getElementById("f-phone");
    const answer = document.getElementById("f-answer");
    const reason = document.getElementById("f-reason");
    const guidance = document.getElementById("f-guidance");
    const kbQuery = document.getElementById("kb-query");
    const radios = form.querySelectorAll("input[name=assessment]");

    // Decision panels: only the chosen decision's fields are shown.
    function showPanels() {
      const chosen = form.querySelector("input[name=assessment]:checked");
      form.querySelectorAll(".panel").forEach(function (panel) {
        panel.hidden = !chosen || panel.dataset.for !== chosen.value;
      });
    }
    radios.forEach(function (r) { r.addEventListener("change", showPanels); });
    showPanels();

    function choose(value) {
      radios.forEach(function (r) { r.checked = r.value === value; });
      showPanels();
    }

    // Art. 13: the reason fills in its guidance, unless the agent has already written their own.
    let lastTemplate = guidance.value;
    reason.addEventListener("change", function () {
      const option = reason.options[reason.selectedIndex];
      const template = option ? option.dataset.guidance || "" : "";
      if (!guidance.value.trim() || guidance.value === lastTemplate) {
        guidance.value = template;
        lastTemplate = template;
      }
    });

    // A call timer, started by the first keystroke: registering should take under a minute.
    const timer = document.getElementById("call-timer");
    let started = null;
    form.addEventListener("input", function () {
      if (started) return;
      started = Date.now();
      timer.hidden = false;
      setInterval(function () {
        const s = Math.floor((Date.now() - started) / 1000);
        timer.querySelector("b").textContent =
          String(Math.floor(s / 60)).padStart(2, "0") + ":" + String(s % 60).padStart(2, "0");
        timer.classList.toggle("late", s >= 60);
      }, 1000);
    }, { once: false });

    // Knowledge base suggestions.
    const kbList = document.getElementById("kb-list");
    const kbEmpty = document.getElementById("kb-empty");
    let kbSeq = 0;
    function suggest() {
      const text = (kbQuery.value.trim() || content.value.trim());
      const seq = ++kbSeq;
      if (text.length < 2) { kbList.replaceChildren(); kbEmpty.hidden = false; return; }
      getJSON(msg.suggestUrl + "?q=" + encodeURIComponent(text.slice(0, 2000))).then(function (data) {
        if (seq !== kbSeq) return;
        kbList.replaceChildren();
        kbEmpty.hidden = data.items.length > 0;
        kbEmpty.textContent = msg.msgNone;
        data.items.forEach(function (item) {
          const li = el("li", "kb-item");
          const title = el("a", "kb-title", item.title);
          title.href = item.url; title.target = "_blank"; title.rel = "noopener";
          li.appendChild(title);
          const meta = el("div", "muted small", [item.unit, item.category].filter(Boolean).join(" · "));
          li.appendChild(meta);
          li.appendChild(el("p", "kb-snippet", item.snippet));
          const actions = el("div", "kb-actions");
          const use = el("button", "", msg.msgUse);
          use.type = "button";
          use.addEventListener("click", function () {
            answer.value = item.body; choose("answer_on_spot"); answer.focus();
          });
          const go = el("button", "primary", msg.msgAnswer);
          go.type = "button";
          go.addEventListener("click", function () { confirmAnswer(item); });
          actions.append(use, go);
          li.appendChild(actions);
          kbList.appendChild(li);
        });
      });
    }
    // 一键当场答复: the article becomes the answer, shown for editing; the call ends only when
    // the agent confirms, and what is recorded is the confirmed text.
    const dialog = document.getElementById("answer-confirm");
    const draft = document.getElementById("answer-confirm-text");
    const empty = document.getElementById("answer-confirm-empty");
    function confirmAnswer(item) {
      answer.value = item.body;
      choose("answer_on_spot");
      draft.value = item.body;
      empty.hidden = true;
      document.getElementById("answer-confirm-source").textContent = msg.msgSource + item.title;
      dialog.showModal();
      draft.focus();
    }
    dialog.addEventListener("close", function () { answer.value = draft.value; });  // edits are kept
    document.getElementById("answer-confirm-cancel").addEventListener("click", function () {
      answer.value = draft.value;  // at once: the close event is queued, and the form may be read first
      dialog.close();
      answer.focus();
    });
    document.getElementById("answer-confirm-ok").addEventListener("click", function () {
      if (!draft.value.trim()) { empty.hidden = false; draft.focus(); return; }
      answer.value = draft.value;  // the close event comes later than the submit
      dialog.close();
      if (form.requestSubmit) form.requestSubmit(); else form.submit();
    });

    content.addEventListener("input", debounce(suggest, 350));
    kbQuery.addEventListener("input", debounce(suggest, 250));

    // Likely duplicates: same phone or similar content within 7 days.
    const dupList = document.getElementById("dup-list");
    const dupEmpty = document.getElementById("dup-empty");
    const dupPanel = document.getElementById("dup-panel");
    let dupSeq = 0;
    function duplicates() {
      const digits = phone.value.replace(/\D/g, "");
      const text = content.value.trim();
      if (digits.length < 5 && text.length < 6) return;
      const seq = ++dupSeq;
      const url = msg.duplicatesUrl + "?phone=" + encodeURIComponent(phone.value.trim()) +
        "&content=" + encodeURIComponent(text.slice(0, 5000));
      getJSON(url).then(function (data) {
        if (seq !== dupSeq) return;
        dupList.replaceChildren();
        dupPanel.classList.toggle("warn", data.items.length > 0);
        dupEmpty.textContent = data.items.length ? msg.msgDupConfirm : msg.msgNoDup;
        data.items.forEach(function (d) {
          const li = el("li");
          const number = el(d.url ? "a" : "b", "", d.number);
          if (d.url) { number.href = d.url; number.target = "_blank"; number.rel = "noopener"; }
          li.append(number, " ");
          li.appendChild(el("span", "", d.title));
          const tags = el("div", "small");
          tags.appendChild(el("span", "badge", d.status_label));
          if (d.reasons.indexOf("same_phone") >= 0) tags.appendChild(el("span", "badge soon", msg.msgPhone));
          if (d.reasons.indexOf("similar_content") >= 0) {
            tags.appendChild(el("span", "badge soon", msg.msgSimilar + " " + Math.round(d.similarity * 100) + "%"));
          }
          tags.appendChild(el("span", "muted", " " + d.accepted_label));
          li.appendChild(tags);
          dupList.appendChild(li);
        });
      });
    }
    phone.addEventListener("input", debounce(duplicates, 500));
    content.addEventListener("input", debounce(duplicates, 900));
    if (content.value || phone.value) { suggest(); duplicates(); }
  }

  function initDispatch(page) {
    // Filter the unit tree by name; regions with no matching unit are folded away.
    const filter = document.getElementById("unit-filter");
    if (filter) {
      filter.addEventListener("input", function () {
        const q = filter.value.trim();
        page.querySelectorAll(".unit-row").forEach(function (row) {
          row.hidden = q !== "" && row.dataset.name.indexOf(q) < 0;
        });
        page.querySelectorAll("details.region").forEach(function (d) {
          if (q) d.open = d.querySelector(".unit-row:not([hidden])") !== null;
        });
      });
    }
    // A suggestion chip picks its unit as the lead.
    page.querySelectorAll("[data-pick-lead]").forEach(function (chip) {
      chip.addEventListener("click", function () {
        const radio = page.querySelector("input[name=lead_unit_id][value='" + chip.dataset.pickLead + "']");
        if (radio) { radio.checked = true; radio.dispatchEvent(new Event("change", { bubbles: true })); }
      });
    });
    // The lead is never also a co-organizer; the lead section hides when falling back.
    function sync() {
      const lead = page.querySelector("input[name=lead_unit_id]:checked");
      page.querySelectorAll("input[name=co_unit_ids]").forEach(function (box) {
        const isLead = lead && box.value === lead.value;
        if (isLead) box.checked = false;
        box.disabled = isLead;
      });
      const decision = page.querySelector("input[name=return_decision]:checked");
      const picker = document.getElementById("unit-picker");
      if (picker && decision) picker.hidden = decision.value === "fallback";
      // pushing up or asking for coordination names no unit: the receiving centre does
      const action = page.querySelector("input[name=dispatch_action]:checked");
      const transfer = document.getElementById("transfer-fields");
      if (picker && action) picker.hidden = action.value !== "dispatch";
      if (transfer) transfer.hidden = !action || action.value === "dispatch";
    }
    page.addEventListener("change", sync);
    sync();
  }

  document.addEventListener("DOMContentLoaded", function () {
    const form = document.getElementById("intake-form");
    if (form) initConsole(form);
    const page = document.getElementById("dispatch-form");
    if (page) initDispatch(page);
  });
})();
