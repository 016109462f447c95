// genlab playground: plain JavaScript against the REST API (see /docs). No external code.
"use strict";

const $ = (sel, root = document) => root.querySelector(sel);
const el = (tag, attrs = {}, ...children) => {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v);
  }
  for (const child of children) if (child != null) node.append(child);
  return node;
};

// ------------------------------------------------------------------ API

async function api(path, options = {}) {
  const init = { headers: {}, ...options };
  if (options.json !== undefined) {
    init.method = init.method || "POST";
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(options.json);
  }
  const response = await fetch(path, init);
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(describeError(response, body));
  return body;
}

function describeError(response, body) {
  const detail = body.detail;
  if (response.status === 429) {
    return `The queue is full; try again in ${response.headers.get("Retry-After") || "a few"} s.`;
  }
  if (Array.isArray(detail)) {
    return detail.map((d) => `${(d.loc || []).filter((x) => x !== "body").join(".")}: ${d.msg}`).join("; ");
  }
  return detail || `${response.status} ${response.statusText}`;
}

// Server-sent events from a POST (EventSource only does GET): yields {event, data}.
async function* postEvents(path, json) {
  const response = await fetch(path, {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(json),
  });
  if (!response.ok) {
    const body = await response.json().catch(() => ({}));
    throw new Error(describeError(response, body));
  }
  const reader = response.body.getReader();
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

// Follow a job until it is done: progress from the event stream, polling if the stream breaks.
function watchJob(jobId, onProgress) {
  return new Promise((resolve, reject) => {
    const source = new EventSource(`/api/jobs/${jobId}/events`);
    let settled = false;
    const finish = (snap) => {
      if (settled) return;
      settled = true;
      source.close();
      snap.status === "done" ? resolve(snap) : reject(new Error(snap.error || "the job failed"));
    };
    source.addEventListener("progress", (e) => onProgress(JSON.parse(e.data)));
    source.addEventListener("done", (e) => finish(JSON.parse(e.data)));
    source.addEventListener("failed", (e) => finish(JSON.parse(e.data)));
    source.onerror = async () => {
      if (settled) return;
      source.close();
      for (;;) {
        const snap = await api(`/api/jobs/${jobId}`).catch(() => null);
        if (snap && (snap.status === "done" || snap.status === "failed")) return finish(snap);
        if (snap) onProgress(snap);
        await new Promise((r) => setTimeout(r, 400));
      }
    };
  });
}

function showProgress(box, snap) {
  box.classList.remove("hidden");
  const fill = $(".fill", box), text = $("span", box);
  fill.style.width = `${Math.round((snap.progress || 0) * 100)}%`;
  if (snap.status === "queued") {
    text.textContent = snap.queue_position ? `queued — ${snap.queue_position} ahead` : "queued — next";
  } else if (snap.status === "running") {
    text.textContent = `step ${snap.step} of ${snap.total_steps}`;
  } else {
    text.textContent = snap.status;
  }
  if (snap.warnings && snap.warnings.length) text.textContent += ` — ${snap.warnings.join("; ")}`;
}

// ------------------------------------------------------------------ rendering results

function mediaFor(result) {
  // Videos are stored as animated WebP: an <img> plays them, looping.
  const img = el("img", { src: result.url, alt: result.prompt || "generated image", loading: "lazy" });
  img.dataset.imageId = result.image_id;
  return img;
}

function resultCard(result) {
  const params = result.params || {};
  return el("div", { class: "result", "data-image-id": result.image_id },
    mediaFor(result),
    el("div", { class: "meta" },
      el("span", { text: `seed ${result.seed ?? params.seed ?? "?"}` }),
      result.kind === "video" ? el("span", { class: "badge", text: "video" }) : el("span", { text: params.sampler || "" })),
    params.layout ? el("div", { class: "plan", text: `plan: ${params.layout}` }) : null);
}

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

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  $("#form-error").textContent = "";
  const button = $("#generate-btn");
  button.disabled = true;
  const box = $("#progress");
  try {
    const accepted = await api("/api/generate", { json: readForm() });
    showProgress(box, { status: accepted.status, queue_position: accepted.queue_position, progress: 0 });
    const snap = await watchJob(accepted.job_id, (s) => showProgress(box, s));
    showProgress(box, snap);
    const grid = $("#results");
    grid.replaceChildren(...snap.results.map(resultCard));
    loadGallery();
    checkHealth();
  } catch (err) {
    $("#form-error").textContent = err.message;
    box.classList.add("hidden");
  } finally {
    button.disabled = false;
  }
});

$("#seed-random").addEventListener("click", () => {
  $("#seed").value = Math.floor(Math.random() * 2147483647);
});

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
  $("#gallery").replaceChildren(...listing.items.map(galleryCard));
}

function galleryCard(item) {
  const p = item.params || {};
  const bits = [`seed ${item.seed ?? "—"}`];
  if (p.num_inference_steps) bits.push(`${p.num_inference_steps} steps`);
  if (p.guidance_scale != null) bits.push(`cfg ${p.guidance_scale}`);
  if (p.sampler) bits.push(p.sampler);
  if (item.model) bits.push(item.model);
  // Reuse regenerates from the prompt and seed: right for generations, not for edits or uploads.
  const canReuse = Boolean(item.prompt) && !item.parent_id;
  if (item.parent_id) bits.push(`edit of ${item.parent_id}`);
  return el("div", { class: "card", "data-image-id": item.image_id },
    mediaFor(item),
    el("div", { class: "info" },
      el("div", { class: "prompt", text: item.prompt || p.filename || "(uploaded)", title: item.prompt || "" }),
      el("div", { class: "params", text: bits.join(" · ") }),
      el("div", { class: "btns" },
        canReuse ? el("button", { class: "reuse", text: "Reuse", title: "same settings and seed", onclick: () => reuse(item) }) : null,
        item.kind === "image" ? el("button", { class: "edit", text: "Edit", onclick: () => openEditor(item) }) : null)));
}

function reuse(item) {
  fillForm({ ...item.params, prompt: item.prompt, seed: item.seed ?? item.params.seed, model: item.model });
  showSamplers($("#model").value);  // the fields of the reused model (frames, first frame)
  selectTab("generate");
  $("#prompt").focus();
}

let searchTimer;
$("#gallery-search").addEventListener("input", (e) => {
  clearTimeout(searchTimer);
  searchTimer = setTimeout(() => { gallery.query = e.target.value.trim(); gallery.page = 1; loadGallery(); }, 250);
});
$("#page-prev").addEventListener("click", () => { gallery.page = Math.max(1, gallery.page - 1); loadGallery(); });
$("#page-next").addEventListener("click", () => { gallery.page = Math.min(gallery.pages, gallery.page + 1); loadGallery(); });

// ------------------------------------------------------------------ agent chat

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

// A tool result in one line: an analysis by its score and what is wrong, anything else as JSON.
function summarize(content) {
  if (content && typeof content.score === "number") {
    const problems = content.problems || [];
    return `score ${content.score.toFixed(2)}${problems.length ? ` — ${problems.join("; ")}` : " — every requested attribute is there"}`;
  }
  return short(content);
}

let lastAssistant = null;

function renderStep(step) {
  switch (step.type) {
    case "user": lastAssistant = null; return bubble("user", step.text);
    case "assistant":
      if (!step.text) return null;
      lastAssistant = { text: step.text, node: bubble("assistant", step.text) };
      return lastAssistant.node;
    case "tool_call":
      return bubble("tool", el("span", { class: "name", text: `→ ${step.name}` }), ` ${short(step.arguments)}`);
    case "tool_result": {
      const node = bubble(`tool${step.is_error ? " err" : ""}`,
        el("span", { class: "name", text: `← ${step.name}` }), ` ${summarize(step.content)}`);
      if (step.images && step.images.length) {
        node.append(el("div", { class: "imgs" },
          ...step.images.map((id) => mediaFor({ image_id: id, url: `/api/images/${id}` }))));
      }
      return node;
    }
    case "final": {
      const reason = el("div", { class: "muted", text: step.stop_reason || "" });
      if (lastAssistant && lastAssistant.text === step.text) {  // the answer is already shown
        lastAssistant.node.classList.add("final");
        lastAssistant.node.append(reason);
        $("#chat").scrollTop = $("#chat").scrollHeight;
        return lastAssistant.node;
      }
      return bubble("final", step.text || "Done.", reason);
    }
    case "error": return bubble("err", step.message);
    default: return null;
  }
}

$("#agent-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const input = $("#agent-input");
  const request = input.value.trim();
  if (!request) return;
  const button = $("#agent-send");
  button.disabled = true;
  input.value = "";
  try {
    // The agent draws with the model and step count chosen in the Generate form.
    const options = { max_rounds: Number($("#agent-rounds").value) || 2 };
    const steps = Number($("#num_inference_steps").value);
    if (steps) options.steps = steps;
    if ($("#model").value) options.image_model = $("#model").value;
    const body = { request, backend: $("#agent-backend").value, options };
    for await (const { event: kind, data } of postEvents("/api/agent", body)) {
      if (kind === "step") renderStep(data);
      else if (kind === "failed") bubble("err", data.error || "the agent failed");
    }
  } catch (err) {
    bubble("err", err.message);
  } finally {
    button.disabled = false;
    loadGallery();
  }
});

// ------------------------------------------------------------------ inpainting editor

const editor = { item: null, painting: false, painted: false };
const imageCanvas = $("#edit-image"), maskCanvas = $("#edit-mask");
const maskCtx = maskCanvas.getContext("2d");

function openEditor(item) {
  editor.item = item;
  const img = new Image();
  img.onload = () => {
    const ctx = imageCanvas.getContext("2d");
    ctx.imageSmoothingEnabled = false;
    ctx.clearRect(0, 0, imageCanvas.width, imageCanvas.height);
    ctx.drawImage(img, 0, 0, imageCanvas.width, imageCanvas.height);
  };
  img.src = item.url;
  clearMask();
  $("#edit-prompt").value = item.prompt || "";
  $("#edit-hint").textContent = `Editing image ${item.image_id}: paint the region to repaint (or none, for img2img).`;
  $("#edit-btn").disabled = false;
  selectTab("edit");
}

$("#edit-upload").addEventListener("change", async (event) => {
  const file = event.target.files[0];
  if (!file) return;
  $("#edit-error").textContent = "";
  const form = new FormData();
  form.append("file", file);
  try {
    const response = await fetch("/api/images", { method: "POST", body: form });
    const body = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(describeError(response, body));
    openEditor(body);
    loadGallery();
  } catch (err) {
    $("#edit-error").textContent = err.message;
  } finally {
    event.target.value = "";
  }
});

function clearMask() {
  maskCtx.clearRect(0, 0, maskCanvas.width, maskCanvas.height);
  editor.painted = false;
}

function paint(event) {
  const rect = maskCanvas.getBoundingClientRect();
  const x = ((event.clientX - rect.left) / rect.width) * maskCanvas.width;
  const y = ((event.clientY - rect.top) / rect.height) * maskCanvas.height;
  maskCtx.fillStyle = "#ff3b7f";
  maskCtx.beginPath();
  maskCtx.arc(x, y, Number($("#brush").value) / 2, 0, Math.PI * 2);
  maskCtx.fill();
  editor.painted = true;
}

maskCanvas.addEventListener("pointerdown", (e) => { editor.painting = true; maskCanvas.setPointerCapture(e.pointerId); paint(e); });
maskCanvas.addEventListener("pointermove", (e) => { if (editor.painting) paint(e); });
maskCanvas.addEventListener("pointerup", () => { editor.painting = false; });
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
  ctx.globalCompositeOperation = "source-over";
  const painted = maskCtx.getImageData(0, 0, out.width, out.height);
  const pixels = ctx.getImageData(0, 0, out.width, out.height);
  for (let i = 3; i < painted.data.length; i += 4) {
    if (painted.data[i] > 0) pixels.data[i - 3] = pixels.data[i - 2] = pixels.data[i - 1] = 255;
  }
  ctx.putImageData(pixels, 0, 0);
  return out.toDataURL("image/png");
}

$("#edit-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  if (!editor.item) return;
  $("#edit-error").textContent = "";
  const button = $("#edit-btn");
  button.disabled = true;
  const box = $("#edit-progress");
  const body = { image_id: editor.item.image_id, prompt: $("#edit-prompt").value.trim() };
  if (editor.painted) body.mask = maskDataURL();
  else body.strength = Number($("#strength").value);
  const model = $("#model").value;
  if (model) body.model = model;
  try {
    const accepted = await api("/api/edit", { json: body });
    const snap = await watchJob(accepted.job_id, (s) => showProgress(box, s));
    showProgress(box, snap);
    $("#edit-results").replaceChildren(...snap.results.map(resultCard));
    loadGallery();
    checkHealth();
  } catch (err) {
    $("#edit-error").textContent = err.message;
  } finally {
    button.disabled = false;
  }
});

// ------------------------------------------------------------------ tabs, health, start

function selectTab(name) {
  for (const tab of document.querySelectorAll(".tab")) tab.classList.toggle("active", tab.dataset.tab === name);
  for (const view of document.querySelectorAll(".view")) view.classList.toggle("active", view.id === `view-${name}`);
}
for (const tab of document.querySelectorAll(".tab")) tab.addEventListener("click", () => selectTab(tab.dataset.tab));

const modelInfo = new Map();

function showSamplers(modelName) {
  const select = $("#sampler");
  const current = select.value;
  const info = modelInfo.get(modelName) || {};
  $("#frames-field").classList.toggle("hidden", !info.video);
  $("#layout-field").classList.toggle("hidden", !info.layout);
  $("#layout_temperature").placeholder = info.layout_temperature ?? "";
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

async function loadModels() {
  const { models, default: fallback } = await api("/api/models");
  const select = $("#model");
  for (const m of models) modelInfo.set(m.name, m);
  $("#keyframe_model").replaceChildren(el("option", { value: "", text: "from the video model" }),
    ...models.filter((m) => m.kind === "text2image").map((m) => el("option", { value: m.name, text: m.name })));
  select.replaceChildren(...models.map((m) => el("option", { value: m.name, text: m.kind === "text2video" ? `${m.name} (video)` : m.name })));
  if (fallback) select.value = fallback;
  showSamplers(select.value);
  select.addEventListener("change", () => showSamplers(select.value));
}

function showAgentBackends(names) {
  // The operator's backends, by name (offline, anthropic, openai and configured ones).
  const select = $("#agent-backend");
  const shown = [...select.options].map((o) => o.value);
  if (!names.length || names.join() === shown.join()) return;
  const chosen = select.value;
  select.replaceChildren(...names.map((name) => new Option(name, name)));
  if (names.includes(chosen)) select.value = chosen;
}

async function checkHealth() {
  try {
    const health = await api("/api/health");
    $("#health-dot").className = "dot ok";
    const q = health.queue;
    showAgentBackends(health.agent_backends || []);
    $("#health-text").textContent = `v${health.version} · ${q.running} running · ${q.queued} queued`;
  } catch {
    $("#health-dot").className = "dot bad";
    $("#health-text").textContent = "server unreachable";
  }
}

loadModels().catch((err) => { $("#form-error").textContent = err.message; });
loadGallery();
checkHealth();
setInterval(checkHealth, 5000);
