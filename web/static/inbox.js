// Task forms: show a field only when its condition holds (the server applies the same rule
// and decides validity), upload a chosen file at once (the 上传 button then chooses another),
// count characters, confirm, and refresh nothing else. Loaded in <head>, so conditional
// fields start hidden without a flash.
document.documentElement.classList.add("js");

function fieldValue(form, name) {
  const inputs = form.querySelectorAll(`[name="${CSS.escape(name)}"]`);
  for (const input of inputs) {
    if (input.type === "radio") { if (input.checked) return input.value; continue; }
    if (input.type === "checkbox") return input.checked ? "true" : "false";
    return input.value;
  }
  return "";
}

function applyConditions(form) {
  for (const field of form.querySelectorAll("[data-show-when]")) {
    const whens = JSON.parse(field.dataset.showWhen);
    const prefix = field.dataset.field.includes(".") ? field.dataset.field.replace(/[^.]+$/, "") : "";
    const shown = whens.some((when) => Object.entries(when).every(
      ([name, allowed]) => allowed.includes(fieldValue(form, prefix + name))));
    field.classList.toggle("conditional-off", !shown);
  }
}

function countCharacters(counter) {
  const input = document.getElementById(counter.dataset.counterFor);
  const update = () => { counter.textContent = `${input.value.length} / ${counter.dataset.max}`; };
  input.addEventListener("input", update);
  update();
}

function uploadOnChoose(input) {
  input.addEventListener("change", () => {
    const file = input.files[0];
    if (!file) return;
    if (Number(input.dataset.maxBytes) && file.size > Number(input.dataset.maxBytes)) {
      window.alert(input.dataset.tooLarge);
      input.value = "";
      return;
    }
    input.form.requestSubmit(document.getElementById(input.dataset.uploadButton));
  });
  // A chosen file is sent at once, so the visible 上传 button usually has nothing to send (the
  // last file is already up): then it opens the file chooser instead of asking for a file.
  document.getElementById(input.dataset.uploadButton).addEventListener("click", (event) => {
    if (input.files.length) return;
    event.preventDefault();
    input.click();
  });
}

document.addEventListener("DOMContentLoaded", () => {
  for (const form of document.querySelectorAll("form[data-conditional]")) {
    form.addEventListener("change", () => applyConditions(form));
    applyConditions(form);
  }
  document.querySelectorAll("[data-counter-for]").forEach(countCharacters);
  document.querySelectorAll("input[type=file][data-upload-button]").forEach(uploadOnChoose);
  for (const button of document.querySelectorAll("[data-confirm]")) {
    button.addEventListener("click", (event) => {
      if (!window.confirm(button.dataset.confirm)) event.preventDefault();
    });
  }
  const summary = document.getElementById("error-summary");
  if (summary) summary.focus();
});
