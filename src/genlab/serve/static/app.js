// genlab playground: plain JavaScript against the REST API (see /docs). No external code.
"use strict";

const $ = (sel, root = document) => root.querySelector(sel);
const $$ = (sel, root = document) => [...root.querySelectorAll(sel)];
const el = (tag, attrs = {}, ...children) => {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v == null || v === false) continue;
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const child of children) if (child != null) node.append(child);
  return node;
};
const TEXT_LIMIT = 1000;

// ------------------------------------------------------------------ API and its errors, in plain words

class ApiError extends Error {
  constructor(message, fields = {}, status = 0) {
    super(message);
    this.fields = fields;  // field name -> plain message
    this.status = status;
  }
}

async function api(path, options = {}) {
  const init = { headers: {}, ...options };
  if (options.json !== undefined) {
    init.method = init.method || "POST";
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(options.json);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch {
    throw new ApiError("The server cannot be reached. Is `genlab serve` still running?");
  }
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw apiError(response, body);
  return body;
}

function apiError(response, body) {
  const detail = body.detail;
  if (response.status === 429) {
    return new ApiError(`The server is busy; try again in ${response.headers.get("Retry-After") || "a few"} s.`, {}, 429);
  }
  if (response.status === 413) return new ApiError("That is too large for the server (the limit is a few megabytes).", {}, 413);
  if (response.status === 401) return new ApiError("This server needs its token: open the link `genlab serve` printed.", {}, 401);
  if (Array.isArray(detail)) {
    const fields = {};
    for (const d of detail) {
      const loc = (d.loc || []).filter((x) => x !== "body");
      const name = loc.join(".") || "body";
      fields[name] = plainMessage(d.msg, name);
    }
    return new ApiError(Object.values(fields).join(" "), fields, response.status);
  }
  return new ApiError(plainMessage(String(detail || `${response.status} ${response.statusText}`)), {}, response.status);
}

// The server speaks pydantic's and InvalidArgument's words ("name: expected X, got Y"); a person
// reads "X is needed; got Y".
function plainMessage(msg, name = "") {
  const m = String(msg);
  if (/^Field required$/i.test(m)) return "This is required.";
  let match = m.match(/^String should have at (most|least) (\d+) characters?/);
  if (match) return `Use at ${match[1]} ${Number(match[2]).toLocaleString("en")} characters.`;
  match = m.match(/^Input should be (less|greater) than or equal to (\S+)/);
  if (match) return `Use a value of at ${match[1] === "less" ? "most" : "least"} ${match[2]}.`;
  match = m.match(/^Input should be (less|greater) than (\S+)/);
  if (match) return `Use a value ${match[1]} than ${match[2]}.`;
  match = m.match(/^Value error, (.*)$/);
  if (match) return capitalize(match[1]) + ".";
  if (/no API key/i.test(m)) {
    const backend = (m.match(/^(\w+) backend/) || [])[1] || "this";
    const variable = (m.match(/set the (\w+) environment variable/) || [])[1];
    return `The ${backend} planner needs an API key, which only the server's operator sets` +
      (variable ? `: ${variable} where the server runs.` : ".");
  }
  match = m.match(/^([\w. ]+): expected (.+?)(?:, got (.+?))?(?: \((.*)\))?$/s);
  if (match) {
    const [, , expected, got, hint] = match;
    if (name === "file" || match[1] === "file") {
      return `That file cannot be used: it should be ${expected.replace(/^an? /, "a ")}` +
        (got && !/Error'?$/.test(got) ? ` (it is ${got.replace(/'/g, "")})` : "") + ".";
    }
    const gotText = got && got.length < 80 ? `; got ${got}` : "";
    return `Expected ${expected}${gotText}.${hint ? ` ${capitalize(hint)}.` : ""}`;
  }
  return capitalize(m.replace(/^\w+: /, ""));
}

const capitalize = (s) => (s ? s[0].toUpperCase() + s.slice(1) : s);

// ------------------------------------------------------------------ field errors, next to their field

// Every input of a form field gets an error region (role=alert) below it, named by aria-describedby.
function errorRegion(input) {
  let region = document.getElementById(`${input.id}-error`);
  if (!region) {
    region = el("span", { id: `${input.id}-error`, class: "field-error", role: "alert" });
    (input.closest(".field") || input.parentElement).append(region);
    const described = (input.getAttribute("aria-describedby") || "").split(" ").filter(Boolean);
    input.setAttribute("aria-describedby", [...described, region.id].join(" "));
  }
  return region;
}
for (const input of $$(".field input, .field textarea, .field select")) {
  errorRegion(input);
  const note = $(".note", input.closest(".field"));
  if (note) input.setAttribute("aria-describedby", `${note.id} ${input.getAttribute("aria-describedby")}`);
}

function setFieldError(input, message) {
  errorRegion(input).textContent = message || "";
  if (message) input.setAttribute("aria-invalid", "true");
  else input.removeAttribute("aria-invalid");
}

function clearErrors(root, general) {
  for (const input of $$("[aria-invalid]", root)) setFieldError(input, "");
  if (general) general.textContent = "";
}

// An ApiError's fields go beside their inputs (by `names`: API field -> input); the rest below.
function showError(err, general, names = {}) {
  const rest = [];
  const fields = err.fields || {};
  for (const [name, message] of Object.entries(fields)) {
    const input = $(names[name] || `#${CSS.escape(name)}`);
    if (input && input.closest(".field") && !input.closest(".hidden")) {
      setFieldError(input, message);
      input.focus();
    } else {
      rest.push(message);
    }
  }
  general.textContent = Object.keys(fields).length ? rest.join(" ") : err.message;
}

// Typing clears that field's error and the form's general one: no error outlives its cause.
function clearOnInput(form, general) {
  const clear = (e) => {
    if (e.target.id) setFieldError(e.target, "");
    if (general) general.textContent = "";
    checkLength(e.target);
  };
  form.addEventListener("input", clear);
  form.addEventListener("change", clear);
}

// A paste longer than the server takes is said, not cut silently.
function checkLength(input) {
  const limit = Number(input.dataset && input.dataset.limit);
  if (!limit) return true;
  const n = input.value.length;
  if (n > limit) {
    setFieldError(input, `${n.toLocaleString("en")} characters: the limit is ${limit.toLocaleString("en")}; shorten it.`);
    return false;
  }
  return true;
}

// ------------------------------------------------------------------ prompt check (unknown words)

const promptChecks = new Map();

// Warn, before generating, which words the chosen model cannot read (the world grammar's check).
function watchPrompt(input, note, modelSelect) {
  let timer;
  const run = async () => {
    const prompt = input.value.trim();
    const model = modelSelect.value;
    if (!prompt || !model) { note.textContent = ""; note.classList.remove("warn"); return; }
    const key = `${model}\n${prompt}`;
    let check = promptChecks.get(key);
    if (!check) {
      try {
        check = await api("/api/prompt/check", { json: { prompt: prompt.slice(0, TEXT_LIMIT), model } });
      } catch {
        return;  // the check only advises; a broken check must not block generating
      }
      promptChecks.set(key, check);
    }
    if (input.value.trim() !== prompt || modelSelect.value !== model) return;  // stale answer
    const unknown = check.unknown_words || [];
    const lacking = check.unsupported || [];
    note.classList.toggle("warn", unknown.length + lacking.length > 0);
    if (check.checked && lacking.length) { note.textContent = lacking.join("; ") + "."; return; }
    if (!check.checked || !unknown.length) { note.textContent = ""; return; }
    const words = unknown.slice(0, 10).map((w) => `“${w}”`).join(", ") + (unknown.length > 10 ? " …" : "");
    note.textContent = check.understood
      ? `${model} does not know ${words}: it will draw “${check.understood}”.`
      : `${model} knows none of these words (${words}): it draws shapes, colours, sizes and positions, e.g. “a red circle above a blue square”.`;
  };
  const schedule = () => { clearTimeout(timer); timer = setTimeout(run, 250); };
  input.addEventListener("input", schedule);
  modelSelect.addEventListener("change", schedule);
  return run;
}

// ------------------------------------------------------------------ jobs: progress, cancel

// Server-sent events from a POST (EventSource only does GET): yields {event, data}.
async function* postEvents(path, json) {
  let response;
  try {
    response = await fetch(path, {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(json),
    });
  } catch {
    throw new ApiError("The server cannot be reached. Is `genlab serve` still running?");
  }
  if (!response.ok) throw apiError(response, await response.json().catch(() => ({})));
  yield* readEvents(response.body.getReader());
}

async function* readEvents(reader) {
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let cut;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      let event = "message", data = "";
      for (const line of block.split("\n")) {
        if (line.startsWith("event:")) event = line.slice(6).trim();
        else if (line.startsWith("data:")) data += line.slice(5).trim();
      }
      if (data) yield { event, data: JSON.parse(data) };
    }
  }
}

// "interrupted": the server stopped before the job finished (and does not run it again itself)
const FINAL = ["done", "failed", "cancelled", "interrupted"];

// Follow a job to its end: progress from the event stream, polling if the stream breaks.
function watchJob(jobId, onProgress) {
  return new Promise((resolve) => {
    const source = new EventSource(`/api/jobs/${jobId}/events`);
    let settled = false;
    const finish = (snap) => {
      if (settled) return;
      settled = true;
      source.close();
      resolve(snap);
    };
    source.addEventListener("progress", (e) => onProgress(JSON.parse(e.data)));
    for (const name of FINAL) source.addEventListener(name, (e) => finish(JSON.parse(e.data)));
    source.onerror = async () => {
      if (settled) return;
      source.close();
      for (;;) {
        const snap = await api(`/api/jobs/${jobId}`).catch(() => null);
        if (snap && FINAL.includes(snap.status)) return finish(snap);
        if (snap) onProgress(snap);
        await new Promise((r) => setTimeout(r, 400));
      }
    };
  });
}

function showProgress(box, warnBox, snap) {
  box.classList.remove("hidden", "failed");
  const fill = $(".fill", box), text = $(".progress-text", box), bar = $(".bar", box);
  const percent = Math.round((snap.progress || 0) * 100);
  fill.style.width = `${percent}%`;
  bar.setAttribute("aria-valuenow", String(percent));
  if (snap.status === "queued") {
    text.textContent = snap.queue_position ? `queued — ${snap.queue_position} ahead` : "queued — next";
  } else if (snap.status === "running") {
    text.textContent = snap.total_steps ? `step ${snap.step} of ${snap.total_steps}` : "running";
  } else {
    text.textContent = snap.status;
  }
  box.classList.toggle("failed", snap.status === "failed");
  const warnings = snap.warnings || [];
  warnBox.textContent = warnings.map(capitalize).join(" ");
  warnBox.classList.toggle("hidden", !warnings.length);
}

// One job from a form: submit, show progress, allow Cancel, show the results or the failure.
async function runJob(path, body, ui) {
  ui.button.disabled = true;
  ui.results.replaceChildren();  // no earlier result stays under a new request's outcome
  ui.warnings.classList.add("hidden");
  let jobId = null;
  const cancel = async () => {
    if (!jobId) return;
    ui.cancel.disabled = true;
    await api(`/api/jobs/${jobId}/cancel`, { method: "POST" }).catch(() => null);
  };
  ui.cancel.onclick = cancel;
  try {
    const accepted = await api(path, { json: body });
    jobId = accepted.job_id;
    ui.cancel.disabled = false;
    ui.cancel.classList.remove("hidden");
    showProgress(ui.progress, ui.warnings, { status: accepted.status, queue_position: accepted.queue_position, progress: 0 });
    const snap = await watchJob(jobId, (s) => showProgress(ui.progress, ui.warnings, s));
    showProgress(ui.progress, ui.warnings, snap);
    if (snap.status === "failed") {
      throw new ApiError(`The job failed: ${plainMessage(snap.error || "no reason given")}`);
    }
    if (snap.status === "interrupted") {
      loadInterrupted();
      throw new ApiError("The server stopped before this job finished: resubmit it from the history (Interrupted).");
    }
    ui.results.replaceChildren(...snap.results.map((r) => imageCard(r)));
    loadGallery();
  } catch (err) {
    if (!jobId) ui.progress.classList.add("hidden");
    showError(err, ui.error, ui.names);
  } finally {
    ui.button.disabled = false;
    ui.cancel.classList.add("hidden");
  }
}

// ------------------------------------------------------------------ one card for every result

function downloadName(item) {
  const ext = (item.url.match(/\.\w+$/) || [item.kind === "video" ? ".webp" : ".png"])[0];
  const safe = (s) => String(s).replace(/[^A-Za-z0-9_.-]+/g, "_");
  const parts = ["genlab", item.model, item.seed != null ? `seed${item.seed}` : null].filter(Boolean);
  return `${parts.map(safe).join("-")}-${item.image_id}${ext}`;
}

function mediaFor(item) {
  // Videos are stored as animated WebP: an <img> plays them, looping.
  const img = el("img", { src: item.url, alt: item.prompt || item.params?.filename || "generated image", loading: "lazy" });
  img.dataset.imageId = item.image_id;
  return img;
}

// Download (file name with extension; PNGs carry their parameters inside), Reuse, Edit and Open.
function imageCard(item, { inGallery = false } = {}) {
  const p = item.params || {};
  const prompt = item.prompt || "";
  const label = prompt || p.filename || "uploaded image";
  const isEdit = Boolean(item.parent_id);
  const canReuse = Boolean(prompt);
  const node = el(inGallery ? "div" : "figure", { class: inGallery ? "card" : "result", "data-image-id": item.image_id },
    el("a", { class: "open", href: item.url, target: "_blank", rel: "noopener", title: "Open full size" }, mediaFor(item)),
    item.agent_pick ? el("span", { class: "pick", text: "agent’s pick" }) : null);
  if (item.agent_pick) node.classList.add("winner");
  if (inGallery) {
    const bits = [p.source === "upload" ? "uploaded" : `seed ${item.seed ?? "—"}`];
    if (p.num_inference_steps && !["vae", "gan"].includes(modelKind(item.model))) bits.push(`${p.num_inference_steps} steps`);
    if (p.guidance_scale != null) bits.push(`cfg ${p.guidance_scale}`);
    if (p.sampler) bits.push(p.sampler);
    if (item.model) bits.push(item.model);
    if (isEdit) bits.push("an edit");
    node.append(el("div", { class: "info" },
      el("div", { class: "prompt", text: label, title: prompt }),
      el("div", { class: "params", text: bits.join(" · ") })));
  } else {
    node.append(el("figcaption", { class: "meta" },
      el("span", { text: `seed ${item.seed ?? p.seed ?? "?"}` }),
      item.kind === "video" ? el("span", { class: "badge", text: "video" }) : el("span", { text: p.sampler || item.model || "" })));
    if (p.layout) node.append(el("div", { class: "plan", text: `plan: ${p.layout}` }));
  }
  const what = label.length > 40 ? `${label.slice(0, 40)}…` : label;
  node.append(el("div", { class: "btns" },
    el("a", { class: "btn download", href: item.url, download: downloadName(item), "aria-label": `Download ${what}` }, "Download"),
    canReuse ? el("button", { class: "reuse", type: "button", title: isEdit ? "this edit's prompt and settings, in the editor" : "same settings and seed", "aria-label": `Reuse ${what}`, onclick: () => reuse(item) }, "Reuse") : null,
    item.kind !== "video" ? el("button", { class: "edit", type: "button", "aria-label": `Edit ${what}`, onclick: () => openEditor(item) }, "Edit") : null,
    el("a", { class: "btn open-full", href: item.url, target: "_blank", rel: "noopener", "aria-label": `Open ${what} full size` }, "Open")));
  return node;
}

// ------------------------------------------------------------------ models: one picker per tab

const modelInfo = new Map();
const modelKind = (name) => (modelInfo.get(name) || {}).kind;

function fillPicker(select, models, fallback) {
  const current = select.value;
  select.replaceChildren(...models.map((m) => el("option", { value: m.name, text: m.kind === "text2video" ? `${m.name} (video)` : m.name })));
  const names = models.map((m) => m.name);
  select.value = names.includes(current) ? current : names.includes(fallback) ? fallback : names[0] || "";
}

async function loadModels() {
  const { models, default: fallback } = await api("/api/models");
  for (const m of models) modelInfo.set(m.name, m);
  const able = (task) => models.filter((m) => (m.tasks || ["generate"]).includes(task));
  $("#keyframe_model").replaceChildren(el("option", { value: "", text: "from the video model" }),
    ...models.filter((m) => m.kind === "text2image").map((m) => el("option", { value: m.name, text: m.name })));
  fillPicker($("#model"), able("generate"), fallback);
  fillPicker($("#agent-model"), able("agent"), fallback);
  fillPicker($("#edit-model"), able("edit"), fallback);
  for (const [select, task] of [["#agent-model", "agent"], ["#edit-model", "edit"]]) {
    if (!able(task).length) {
      $(select).replaceChildren(el("option", { value: "", text: `no model here can ${task === "agent" ? "be used by the agent" : "edit"}` }));
    }
  }
  // the model picked at load draws at its own steps (a distilled default's few)
  const picked = modelInfo.get($("#model").value);
  if (picked && picked.default_steps) $("#num_inference_steps").value = picked.default_steps;
  showSamplers($("#model").value);
  $("#model").addEventListener("change", () => showSamplers($("#model").value));
  offerFast(models.find((m) => m.distilled && able("generate").includes(m)));
  checkPrompt();
  checkEditPrompt();
}

// "Fast": the distilled few-step model at its own steps; unticked, the model and steps from before.
function offerFast(fast) {
  $("#fast-field").classList.toggle("hidden", !fast);
  if (!fast) return;
  $("#fast").checked = $("#model").value === fast.name; // the default model may be the fast one
  let before = null;
  $("#fast").addEventListener("change", () => {
    if ($("#fast").checked) {
      before = { model: $("#model").value, steps: $("#num_inference_steps").value };
      $("#model").value = fast.name;
      $("#num_inference_steps").value = fast.default_steps ?? "";
    } else if (before) {
      $("#model").value = before.model;
      $("#num_inference_steps").value = before.steps;
    }
    showSamplers($("#model").value);
    checkPrompt();
  });
  $("#model").addEventListener("change", () => { $("#fast").checked = $("#model").value === fast.name; });
}

function showSamplers(modelName) {
  const select = $("#sampler");
  const current = select.value;
  const info = modelInfo.get(modelName) || {};
  // Only the fields the model reads: a one-pass model has no steps, guidance or sampler.
  const controls = info.controls || ["negative_prompt", "num_inference_steps", "guidance_scale", "sampler"];
  $("#negative-field").classList.toggle("hidden", !controls.includes("negative_prompt"));
  $("#steps-field").classList.toggle("hidden", !controls.includes("num_inference_steps"));
  $("#guidance-field").classList.toggle("hidden", !controls.includes("guidance_scale"));
  $("#sampler-field").classList.toggle("hidden", !info.samplers);
  $("#frames-field").classList.toggle("hidden", !info.video);
  $("#layout-field").classList.toggle("hidden", !info.layout);
  $("#layout_temperature").placeholder = info.layout_temperature ?? "";
  // An empty Steps field asks for the model's own steps (a distilled model's are few)
  $("#num_inference_steps").placeholder = info.default_steps ?? "default";
  showLayoutTemperature();
  // text → image → video: offered when the server has an image model to draw the first frame
  $("#keyframe-field").classList.toggle("hidden", !info.video || $("#keyframe_model").options.length < 2);
  showKeyframeCandidates();
  const names = info.samplers || [];
  select.replaceChildren(el("option", { value: "", text: "default" }), ...names.map((n) => el("option", { text: n })));
  if (names.includes(current)) select.value = current;
}

// The number of first frames to choose among, offered once an image model draws them.
function showKeyframeCandidates() {
  const drawn = !$("#keyframe-field").classList.contains("hidden") && $("#keyframe_model").value !== "";
  $("#keyframe-candidates-field").classList.toggle("hidden", !drawn);
}
$("#keyframe_model").addEventListener("change", showKeyframeCandidates);

// The planner's temperature, offered while the model plans (a two-stage model, "plan first").
function showLayoutTemperature() {
  const planning = !$("#layout-field").classList.contains("hidden") && $("#plan_layout").value !== "false";
  $("#layout-temperature-field").classList.toggle("hidden", !planning);
}
$("#plan_layout").addEventListener("change", showLayoutTemperature);

// ------------------------------------------------------------------ generate

const form = $("#generate-form");
const formFields = ["prompt", "negative_prompt", "num_inference_steps", "guidance_scale", "sampler", "seed", "num_images", "num_frames", "keyframe_model", "keyframe_candidates", "plan_layout", "layout_temperature", "model"];

function readForm() {
  const body = {};
  for (const name of formFields) {
    const input = $(`#${name}`);
    const raw = input.value.trim();
    if (raw === "" || input.closest(".hidden")) continue;
    if (name === "plan_layout") body[name] = raw === "true";
    else body[name] = input.type === "number" ? Number(raw) : raw;
  }
  return body;
}

function fillForm(params) {
  for (const name of formFields) {
    if (name === "num_images") { $("#num_images").value = 1; continue; }
    if (name === "plan_layout") { $("#plan_layout").value = params.plan_layout === false ? "false" : ""; continue; }
    if (name === "layout_temperature") { $("#layout_temperature").value = params.plan_layout === false ? "" : (params.layout_temperature ?? ""); continue; }
    const value = params[name];
    const input = $(`#${name}`);
    if (name === "sampler" && value && ![...input.options].some((o) => o.value === value)) {
      input.append(el("option", { text: value }));
    }
    if ((name === "model" || name === "keyframe_model") && value && ![...input.options].some((o) => o.value === value)) continue;
    input.value = value ?? (name === "keyframe_candidates" ? 1 : "");
  }
  showKeyframeCandidates();
  showLayoutTemperature();
}

clearOnInput(form, $("#form-error"));
const checkPrompt = watchPrompt($("#prompt"), $("#prompt-note"), $("#model"));

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  clearErrors(form, $("#form-error"));
  const prompt = $("#prompt");
  if (!prompt.value.trim()) { setFieldError(prompt, "Write what to draw."); prompt.focus(); return; }
  if (!checkLength(prompt) || !checkLength($("#negative_prompt"))) return;
  await checkPrompt();  // the unknown-word warning is up by the time the job is queued
  await runJob("/api/generate", readForm(), {
    button: $("#generate-btn"), cancel: $("#generate-cancel"), progress: $("#progress"),
    warnings: $("#progress-warnings"), results: $("#results"), error: $("#form-error"), names: {},
  });
});

// Ctrl+Enter (or ⌘+Enter) generates from anywhere in the form: the habit from other UIs.
form.addEventListener("keydown", (e) => {
  if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
    e.preventDefault();
    if (!$("#generate-btn").disabled) form.requestSubmit();
  }
});

$("#seed-random").addEventListener("click", () => {
  $("#seed").value = Math.floor(Math.random() * 2147483647);
});

function reuse(item) {
  const params = item.params || {};
  if (item.parent_id) {  // an edit: its source image, prompt and strength, in the editor
    api(`/api/images/${item.parent_id}/info`).then((parent) => {
      openEditor(parent);
      $("#edit-prompt").value = item.prompt || "";
      if (params.strength) { $("#strength").value = params.strength; $("#strength-out").textContent = params.strength; }
      if (params.model && [...$("#edit-model").options].some((o) => o.value === params.model)) $("#edit-model").value = params.model;
      checkEditPrompt();
    }).catch((err) => showError(err, $("#form-error")));
    return;
  }
  fillForm({ ...params, prompt: item.prompt, seed: item.seed ?? params.seed, model: item.model || params.model });
  showSamplers($("#model").value);  // the fields of the reused model (frames, first frame)
  clearErrors(form, $("#form-error"));
  checkPrompt();
  selectTab("generate");
  $("#prompt").focus();
}

// ------------------------------------------------------------------ gallery (history)

const gallery = { page: 1, pages: 1, query: "" };

async function loadGallery() {
  const q = encodeURIComponent(gallery.query);
  let listing;
  try {
    listing = await api(`/api/history?page=${gallery.page}&per_page=12&q=${q}`);
  } catch (err) {
    $("#gallery").replaceChildren(el("div", { class: "empty", text: err.message }));
    return;
  }
  gallery.pages = listing.pages;
  $("#page-info").textContent = `${listing.page} / ${listing.pages}`;
  $("#page-prev").disabled = listing.page <= 1;
  $("#page-next").disabled = listing.page >= listing.pages;
  if (!listing.items.length) {
    $("#gallery").replaceChildren(el("div", { class: "empty", text: gallery.query ? "no match" : "nothing yet" }));
    return;
  }
  $("#gallery").replaceChildren(...listing.items.map((item) => imageCard(item, { inGallery: true })));
}

let searchTimer;
$("#gallery-search").addEventListener("input", (e) => {
  clearTimeout(searchTimer);
  searchTimer = setTimeout(() => { gallery.query = e.target.value.trim(); gallery.page = 1; loadGallery(); }, 250);
});
// ------------------------------------------------------------------ interrupted work: resubmit

// Jobs and agent runs the server stopped before they finished (kept so by `genlab serve
// --no-requeue`, or cut by a stop): each with a button that runs it again, same settings and seed.
async function loadInterrupted() {
  const listing = await api("/api/history?view=runs&status=interrupted&per_page=20").catch(() => null);
  if (!listing) return;  // the server is away: keep the list as it is
  const runs = listing.items.filter((r) => !("resubmitted_as" in (r.result || {})));
  $("#interrupted").hidden = !runs.length;
  $("#interrupted-list").replaceChildren(...runs.map(interruptedItem));
}

function interruptedItem(run) {
  const p = run.params || {};
  const label = run.request.length > 60 ? `${run.request.slice(0, 60)}…` : run.request;
  const what = run.kind === "agent" ? "agent run" : run.kind === "edit" ? "edit" : "generation";
  const detail = [what, p.seed != null ? `seed ${p.seed}` : null, run.model].filter(Boolean).join(" · ");
  const status = el("span", { class: "note", role: "status" });
  const button = el("button", { type: "button", class: "resubmit", "aria-label": `Resubmit the ${what} “${label}”` }, "Resubmit");
  button.addEventListener("click", () => resubmit(run, button, status));
  return el("li", { "data-run-id": run.id },
    el("div", { class: "what" }, el("span", { text: `“${label}”` }), el("span", { class: "muted", text: detail })),
    button, status);
}

async function resubmit(run, button, status) {
  button.disabled = true;
  status.textContent = "resubmitting…";
  if (run.kind === "agent") {  // the new run streams into the chat, as a request typed there
    selectTab("agent");
    try {
      await followAgent(`/api/agent/${run.id}/resubmit`, {});
      status.textContent = "resubmitted: see the agent tab";
    } catch (err) {
      status.textContent = err.message;
    } finally {
      loadGallery();
      loadAgentRuns();
    }
    return;
  }
  const show = (s) => {
    if (s.status === "queued") status.textContent = s.queue_position ? `queued — ${s.queue_position} ahead` : "queued — next";
    else if (s.status === "running") status.textContent = s.total_steps ? `step ${s.step} of ${s.total_steps}` : "running";
  };
  try {
    const accepted = await api(`/api/jobs/${run.id}/resubmit`, { method: "POST" });
    show(accepted);
    const snap = await watchJob(accepted.job_id, show);
    status.textContent = snap.status === "done" ? "done: in the history below"
      : `${snap.status}${snap.error ? `: ${plainMessage(snap.error)}` : ""}`;
    if (snap.status === "done") button.remove();
    loadGallery();
  } catch (err) {
    status.textContent = err.message;
    if (err.status === 429) button.disabled = false;  // busy: the click may be tried again
  }
}

$("#page-prev").addEventListener("click", () => { gallery.page = Math.max(1, gallery.page - 1); loadGallery(); });
$("#page-next").addEventListener("click", () => { gallery.page = Math.min(gallery.pages, gallery.page + 1); loadGallery(); });

// ------------------------------------------------------------------ agent chat

const AGENT_RUNS_KEY = "genlab.agentRuns";  // the chat's runs, so that a reload shows them again
const storedRuns = () => { try { return JSON.parse(localStorage.getItem(AGENT_RUNS_KEY)) || []; } catch { return []; } };
const storeRuns = (ids) => localStorage.setItem(AGENT_RUNS_KEY, JSON.stringify(ids.slice(-10)));

function bubble(cls, ...children) {
  const node = el("div", { class: `bubble ${cls}` }, ...children);
  const chat = $("#chat");
  chat.append(node);
  chat.scrollTop = chat.scrollHeight;
  return node;
}

function short(value, limit = 240) {
  const text = typeof value === "string" ? value : JSON.stringify(value);
  return text.length > limit ? `${text.slice(0, limit)}…` : text;
}

// A tool result in one line: an analysis by its score, images by their number, never file paths.
function summarize(content) {
  if (content && typeof content.error === "string") return plainMessage(content.error);
  if (content && typeof content.score === "number") {
    const problems = content.problems || [];
    return `score ${content.score.toFixed(2)}${problems.length ? ` — ${problems.join("; ")}` : " — every requested attribute is there"}`;
  }
  if (content && Array.isArray(content.image_ids)) {
    const n = content.image_ids.length;
    return `${n} image${n === 1 ? "" : "s"}${content.prompt ? ` of “${content.prompt}”` : ""}`;
  }
  if (content && typeof content === "object") {
    const { paths, path, best_path, ...rest } = content;  // server file paths mean nothing here
    return short(rest);
  }
  return short(content);
}

function thumb(id) {
  const link = el("a", { class: "thumb", href: `/api/images/${id}.png`, target: "_blank", rel: "noopener", title: `image ${id}: open full size`, "data-image-id": id },
    el("img", { src: `/api/images/${id}.png`, alt: `candidate image ${id}`, loading: "lazy" }));
  return link;
}

const chatState = { lastAssistant: null };

function renderStep(step) {
  switch (step.type) {
    case "user": chatState.lastAssistant = null; return bubble("user", step.text);
    case "assistant":
      if (!step.text) return null;
      chatState.lastAssistant = { text: step.text, node: bubble("assistant", step.text) };
      return chatState.lastAssistant.node;
    case "tool_call": {
      const { paths, ...args } = step.arguments || {};
      return bubble("tool", el("span", { class: "name", text: `→ ${step.name}` }), ` ${short(args)}`);
    }
    case "tool_result": {
      const node = bubble(`tool${step.is_error ? " err" : ""}`,
        el("span", { class: "name", text: `← ${step.name}` }), ` ${summarize(step.content)}`);
      if (step.images && step.images.length) node.append(el("div", { class: "imgs" }, ...step.images.map(thumb)));
      return node;
    }
    case "final": {
      // The answer: shown once the run's outcome (its pick and score) is known, in renderOutcome.
      if (chatState.lastAssistant && chatState.lastAssistant.text === step.text) return chatState.lastAssistant.node;
      chatState.lastAssistant = { text: step.text, node: bubble("assistant", step.text || "Done.") };
      return chatState.lastAssistant.node;
    }
    case "error": return bubble("err", plainMessage(step.message));
    default: return null;
  }
}

// The agent's answer: its chosen image inline with its score, the winner marked among the thumbnails.
async function renderOutcome(outcome, runNode) {
  const answer = chatState.lastAssistant ? chatState.lastAssistant.node : null;
  if (!outcome || !outcome.best_image_id || outcome.status === "failed") {
    const reason = answer ? answer.textContent : "the agent drew nothing";
    if (answer) answer.remove();
    bubble("err final", plainMessage(reason.replace(/^Nothing was drawn: /, "Nothing was drawn: ")));
    return;
  }
  const best = outcome.best_image_id;
  for (const t of $$(`.thumb[data-image-id="${best}"]`, runNode || $("#chat"))) {
    t.classList.add("winner");
    if (!$(".pick", t)) t.append(el("span", { class: "pick", text: "pick" }));
  }
  let item;
  try {
    item = await api(`/api/images/${best}/info`);
  } catch {
    item = { image_id: best, url: `/api/images/${best}.png`, kind: "image", params: {} };
  }
  item.agent_pick = true;
  const score = outcome.score;
  const scoreNode = typeof score === "number"
    ? el("div", { class: `score${outcome.satisfied ? "" : " partial"}`, text: `score ${score.toFixed(2)}` })
    : el("div", { class: "muted", text: "not scored" });
  const problems = outcome.problems || [];
  const node = answer || bubble("assistant", "");
  node.classList.add("final");
  const text = node.firstChild;  // "Best image 3361e1a5a58e scores …": the image is right below
  if (text && text.nodeType === Node.TEXT_NODE) text.textContent = text.textContent.replace(best, "(below)");
  node.append(el("div", { class: "answer" }, imageCard(item),
    el("div", {},
      scoreNode,
      el("p", { text: outcome.satisfied ? "Every requested attribute is there." : problems.length ? `Still wrong: ${problems.join("; ")}` : "" }),
      el("p", { class: "muted", text: `${(outcome.image_ids || []).length} images drawn${outcome.rounds ? ` in ${outcome.rounds} round${outcome.rounds === 1 ? "" : "s"}` : ""}${outcome.seconds ? `, ${outcome.seconds.toFixed(1)} s` : ""}.` }))));
  $("#chat").scrollTop = $("#chat").scrollHeight;
}

function agentOptions() {
  const options = { max_rounds: Number($("#agent-rounds").value) || 2 };
  if ($("#agent-model").value) options.image_model = $("#agent-model").value;
  if ($("#agent-fast").checked && !$("#agent-fast-field").classList.contains("hidden")) options.fast = true;
  return options;
}

const agentNames = { request: "#agent-input", "options.image_model": "#agent-model", "options.max_rounds": "#agent-rounds", "options.fast": "#agent-fast", backend: "#agent-backend" };

$("#agent-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const input = $("#agent-input");
  clearErrors($("#view-agent"), $("#agent-error"));
  const request = input.value.trim();
  if (!request) { setFieldError(input, "Write what the picture should show."); input.focus(); return; }
  if (!checkLength(input)) return;
  const button = $("#agent-send");
  button.disabled = true;
  try {
    const body = { request, backend: $("#agent-backend").value, options: agentOptions() };
    await followAgent("/api/agent", body, () => { input.value = ""; });  // the request is in the chat now
  } catch (err) {
    showError(err, $("#agent-error"), agentNames);  // the request stays in the box
  } finally {
    button.disabled = false;
    loadGallery();
    loadAgentRuns();
  }
});

// One agent run's event stream into the chat: a request typed there, or an interrupted run resubmitted.
async function followAgent(path, body, onRunId = () => {}) {
  let runId = null, finished = false;
  for await (const { event: kind, data } of postEvents(path, body)) {
    if (kind === "step") {
      if (!runId && data.run_id) {
        runId = data.run_id;
        storeRuns([...storedRuns(), runId]);
        onRunId(runId);
      }
      renderStep(data);
    } else if (kind === "done") {
      finished = true;
      await renderOutcome(data.outcome);
    } else if (kind === "failed") {
      finished = true;
      bubble("err", plainMessage(data.error || "the agent stopped without a reason"));
    }
  }
  if (!finished) bubble("err", "The connection to the server ended before the agent finished; its run goes on and is in the history.");
}

// Enter sends (Shift+Enter: a new line), as in chat apps; Ctrl+Enter too.
$("#agent-input").addEventListener("keydown", (e) => {
  if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
    e.preventDefault();
    if (!$("#agent-send").disabled) $("#agent-form").requestSubmit();
  }
});
clearOnInput($("#agent-form"), $("#agent-error"));
$("#view-agent .agent-bar").addEventListener("change", (e) => { if (e.target.id) setFieldError(e.target, ""); $("#agent-error").textContent = ""; });

// A stored run, drawn again from history (its steps and outcome): what a reload shows.
async function showRun(runId) {
  let run;
  try {
    run = await api(`/api/runs/${runId}`);
  } catch {
    return false;
  }
  chatState.lastAssistant = null;
  let shown = 0;
  for (;;) {  // a run still going (the page was reloaded mid-run) is followed until it ends
    for (const step of (run.steps || []).slice(shown)) renderStep(step.data || step);
    shown = (run.steps || []).length;
    if (run.status !== "running") break;
    await new Promise((r) => setTimeout(r, 1000));
    try { run = await api(`/api/runs/${runId}`); } catch { break; }
  }
  if (run.status === "interrupted") {
    const again = run.result && "resubmitted_as" in run.result;
    bubble("err", again ? "The server stopped during this run; it was resubmitted."
      : "The server stopped during this run; “Resubmit” in the history’s Interrupted list runs it again.");
  } else if (run.status !== "running") {
    await renderOutcome(run.result && Object.keys(run.result).length ? run.result : null);
  }
  loadGallery();
  return true;
}

async function restoreChat() {
  const ids = storedRuns();
  const kept = [];
  for (const id of ids) if (await showRun(id)) kept.push(id);
  if (kept.length !== ids.length) storeRuns(kept);
}

$("#agent-new").addEventListener("click", () => {
  storeRuns([]);
  $("#chat").replaceChildren($("#chat .bubble.system") || bubble("system", "New chat."));
  $("#agent-input").focus();
});

async function loadAgentRuns() {
  const listing = await api("/api/history?view=runs&kind=agent&per_page=10").catch(() => null);
  if (!listing) return;  // the server is away: keep the list as it is
  const runs = listing.items;
  $("#agent-runs").classList.toggle("hidden", !runs.length);
  $("#agent-runs-list").replaceChildren(...runs.map((r) => el("li", {},
    el("button", { type: "button", onclick: async () => {
      if (!storedRuns().includes(r.id)) storeRuns([...storedRuns(), r.id]);
      await showRun(r.id);
    } }, `${r.request} — ${r.status}${r.score != null ? `, score ${Number(r.score).toFixed(2)}` : ""}`))));
}

// ------------------------------------------------------------------ inpainting editor

const editor = { item: null, painting: false, painted: false, last: null };
const imageCanvas = $("#edit-image"), maskCanvas = $("#edit-mask");
const maskCtx = maskCanvas.getContext("2d");
const EDIT_SIDE = 512;  // the longer side of the editing canvases, in canvas pixels

function openEditor(item) {
  editor.item = item;
  $("#edit-results").replaceChildren();
  clearErrors($("#view-edit"), $("#edit-error"));
  $("#upload-error").textContent = "";
  const img = new Image();
  img.onload = () => {
    // Keep the image's own proportions: a 240×120 upload is edited as 2:1, not stretched square.
    const scale = EDIT_SIDE / Math.max(img.naturalWidth, img.naturalHeight);
    const w = Math.max(1, Math.round(img.naturalWidth * scale)), h = Math.max(1, Math.round(img.naturalHeight * scale));
    for (const canvas of [imageCanvas, maskCanvas]) { canvas.width = w; canvas.height = h; }
    $("#canvas-wrap").style.aspectRatio = `${w} / ${h}`;
    const ctx = imageCanvas.getContext("2d");
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(img, 0, 0, w, h);
    clearMask();
  };
  img.src = item.url;
  clearMask();
  $("#edit-prompt").value = item.prompt || "";
  $("#edit-hint").textContent = `Editing ${item.prompt ? `“${item.prompt}”` : item.params?.filename || "your image"}: paint the part to repaint (or none, for a whole-image change).`;
  $("#edit-btn").disabled = false;
  if (item.model && [...$("#edit-model").options].some((o) => o.value === item.model)) $("#edit-model").value = item.model;
  checkEditPrompt();
  selectTab("edit");
}

$("#edit-upload").addEventListener("change", async (event) => {
  const file = event.target.files[0];
  if (!file) return;
  $("#upload-error").textContent = "";
  $("#edit-results").replaceChildren();
  const body = new FormData();
  body.append("file", file);
  try {
    const response = await fetch("/api/images", { method: "POST", body }).catch(() => {
      throw new ApiError("The server cannot be reached.");
    });
    const answer = await response.json().catch(() => ({}));
    if (!response.ok) throw apiError(response, answer);
    openEditor(answer);
    loadGallery();
  } catch (err) {
    $("#upload-error").textContent = `${file.name}: ${err.fields && err.fields.file ? err.fields.file : err.message}`;
  } finally {
    event.target.value = "";
  }
});

function clearMask() {
  maskCtx.clearRect(0, 0, maskCanvas.width, maskCanvas.height);
  editor.painted = false;
}

function canvasPoint(event) {
  const rect = maskCanvas.getBoundingClientRect();
  return {
    x: ((event.clientX - rect.left) / rect.width) * maskCanvas.width,
    y: ((event.clientY - rect.top) / rect.height) * maskCanvas.height,
    scale: maskCanvas.width / rect.width,
  };
}

// A stroke is a line from the last point to this one (a quick stroke is a line, not dots).
function paintTo(event) {
  const events = event.getCoalescedEvents ? event.getCoalescedEvents() : [];
  for (const e of events.length ? events : [event]) {
    const p = canvasPoint(e);
    const from = editor.last || p;
    maskCtx.strokeStyle = maskCtx.fillStyle = "#ff3b7f";
    maskCtx.lineWidth = Number($("#brush").value) * p.scale;
    maskCtx.lineCap = maskCtx.lineJoin = "round";
    maskCtx.beginPath();
    maskCtx.moveTo(from.x, from.y);
    maskCtx.lineTo(p.x + 0.01, p.y);
    maskCtx.stroke();
    editor.last = p;
  }
  editor.painted = true;
}

maskCanvas.addEventListener("pointerdown", (e) => {
  e.preventDefault();
  editor.painting = true;
  editor.last = null;
  maskCanvas.setPointerCapture(e.pointerId);
  paintTo(e);
});
maskCanvas.addEventListener("pointermove", (e) => { if (editor.painting) paintTo(e); });
for (const name of ["pointerup", "pointercancel"]) {
  maskCanvas.addEventListener(name, () => { editor.painting = false; editor.last = null; });
}
$("#mask-clear").addEventListener("click", clearMask);
$("#brush").addEventListener("input", (e) => { $("#brush-out").textContent = e.target.value; });
$("#strength").addEventListener("input", (e) => { $("#strength-out").textContent = e.target.value; });

// The mask the API wants: white where to repaint, black elsewhere (any size; the server rescales).
function maskDataURL() {
  const out = document.createElement("canvas");
  out.width = maskCanvas.width;
  out.height = maskCanvas.height;
  const ctx = out.getContext("2d");
  ctx.fillStyle = "#000";
  ctx.fillRect(0, 0, out.width, out.height);
  const painted = maskCtx.getImageData(0, 0, out.width, out.height);
  const pixels = ctx.getImageData(0, 0, out.width, out.height);
  for (let i = 3; i < painted.data.length; i += 4) {
    if (painted.data[i] > 0) pixels.data[i - 3] = pixels.data[i - 2] = pixels.data[i - 1] = 255;
  }
  ctx.putImageData(pixels, 0, 0);
  return out.toDataURL("image/png");
}

const editForm = $("#edit-form");
clearOnInput(editForm, $("#edit-error"));
const checkEditPrompt = watchPrompt($("#edit-prompt"), $("#edit-prompt-note"), $("#edit-model"));

editForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  if (!editor.item) return;
  clearErrors(editForm, $("#edit-error"));
  const prompt = $("#edit-prompt");
  if (!prompt.value.trim()) { setFieldError(prompt, "Describe what to draw there."); prompt.focus(); return; }
  if (!checkLength(prompt)) return;
  const body = { image_id: editor.item.image_id, prompt: prompt.value.trim() };
  if (editor.painted) body.mask = maskDataURL();
  else body.strength = Number($("#strength").value);
  if ($("#edit-model").value) body.model = $("#edit-model").value;
  await runJob("/api/edit", body, {
    button: $("#edit-btn"), cancel: $("#edit-cancel"), progress: $("#edit-progress"),
    warnings: $("#edit-warnings"), results: $("#edit-results"), error: $("#edit-error"),
    names: { prompt: "#edit-prompt", model: "#edit-model", strength: "#strength" },
  });
});
editForm.addEventListener("keydown", (e) => {
  if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); if (!$("#edit-btn").disabled) editForm.requestSubmit(); }
});

// ------------------------------------------------------------------ tabs (WAI-ARIA), status, start

const tabs = $$(".tab[role='tab']");

function selectTab(name, focus = false) {
  for (const tab of tabs) {
    const on = tab.dataset.tab === name;
    tab.classList.toggle("active", on);
    tab.setAttribute("aria-selected", String(on));
    tab.tabIndex = on ? 0 : -1;
    if (on && focus) tab.focus();
  }
  for (const view of $$(".view")) {
    const on = view.id === `view-${name}`;
    view.classList.toggle("active", on);
    view.hidden = !on;
  }
  if (name === "agent") $("#chat").scrollTop = $("#chat").scrollHeight;
}
for (const tab of tabs) {
  tab.addEventListener("click", () => selectTab(tab.dataset.tab));
  // Arrow keys, Home and End move between tabs (the WAI-ARIA tabs pattern).
  tab.addEventListener("keydown", (e) => {
    const i = tabs.indexOf(tab);
    const next = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: tabs.length - 1 }[e.key];
    if (next === undefined) return;
    e.preventDefault();
    selectTab(tabs[(next + tabs.length) % tabs.length].dataset.tab, true);
  });
}

// The planners this server offers: offline, anthropic, openai and its operator's own (keys and
// endpoints are the operator's: a page never sends one).
async function loadAgentBackends() {
  const { agent_backends: names = [], agent_fast_model: fast = null } = await api("/api/health");
  // "Fast": the agent's candidates from the distilled few-step model, where the server has it
  $("#agent-fast-field").classList.toggle("hidden", !fast);
  if (fast) $("#agent-fast-field").title = `draw the candidates with ${fast}: a few steps, guidance built in (edits stay with the image model)`;
  const select = $("#agent-backend");
  if (!names.length) return;
  const chosen = select.value;
  select.replaceChildren(...names.map((name) => el("option", { value: name, text: name })));
  if (names.includes(chosen)) select.value = chosen;
}

// The header's status, pushed by the server on every change of its queue (no polling).
function watchStatus() {
  const source = new EventSource("/api/events");
  source.addEventListener("status", (e) => {
    const status = JSON.parse(e.data);
    const q = status.queue;
    $("#health-dot").className = `dot ${q.running || q.queued ? "busy" : "ok"}`;
    $("#health-text").textContent = `v${status.version} · ${q.running} running · ${q.queued} queued`;
  });
  source.onerror = () => {
    $("#health-dot").className = "dot bad";
    $("#health-text").textContent = "server unreachable — retrying";
  };
}

loadModels().catch((err) => { $("#form-error").textContent = err.message; });
loadAgentBackends().catch(() => {});  // the static list stays
loadGallery();
loadInterrupted();
watchStatus();
restoreChat().then(loadAgentRuns);
