// The participant's page: welcome -> labelled examples -> one image at a time -> score.
// The session id lives in localStorage, so a reload or a server restart resumes the session.
// Answers are idempotent on the server, so a request is simply retried after a network error.
"use strict";

const KEY = "simgan-turing-session";
const $ = (id) => document.getElementById(id);
let state = null;
let busy = false;
let imageReady = false; // answers count only once the image has been on screen a moment
let shown = 0; // counts images shown, so a late timer cannot arm a newer image
const MIN_VIEW_MS = 200; // a key press sooner than this after the image is a double press

function show(id) {
  for (const s of document.querySelectorAll("main > section")) s.hidden = s.id !== id;
}

function banner(text) {
  const b = $("banner");
  b.textContent = text || "";
  b.hidden = !text;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// fetch JSON; network errors and 5xx are retried with backoff (the server may be restarting)
async function api(method, url, body) {
  for (let attempt = 0; ; attempt++) {
    try {
      const r = await fetch(url, {
        method,
        headers: body ? { "content-type": "application/json" } : {},
        body: body ? JSON.stringify(body) : undefined,
        cache: "no-store",
      });
      if (r.status >= 500) throw new Error("server error " + r.status);
      banner("");
      const data = await r.json().catch(() => ({}));
      return { status: r.status, data };
    } catch (e) {
      banner("Connection lost; retrying... (your answers so far are saved)");
      await sleep(Math.min(5000, 300 * 2 ** attempt));
    }
  }
}

function fillGrid(el, urls) {
  el.replaceChildren();
  for (const u of urls) {
    const img = document.createElement("img");
    img.src = u;
    img.alt = "";
    img.className = "pixelated";
    el.appendChild(img);
  }
}

function render() {
  const s = state;
  $("who").textContent = s.name ? "Participant: " + s.name : "";
  const other = s.labels.fake;
  $("fake-word").textContent = other;
  $("i-other-word").textContent = other.toLowerCase();
  $("ex-fake-label").textContent = other;
  if (s.finished) {
    const sc = s.score;
    $("score-correct").textContent = sc.correct;
    $("score-total").textContent = sc.total;
    $("score-pct").textContent = Math.round(100 * sc.accuracy) + "% correct";
    show("done");
    return;
  }
  if (s.next === 0 && !s.started) {
    fillGrid($("ex-real"), s.examples.real);
    fillGrid($("ex-fake"), s.examples.fake);
    show("instructions");
    $("start-test").focus();
    return;
  }
  showTrial();
}

function showTrial() {
  const s = state;
  const i = s.next;
  $("progress-text").textContent = `Image ${i + 1} of ${s.n_trials}`;
  $("progress-bar").style.width = `${(100 * i) / s.n_trials}%`;
  const img = $("stimulus");
  imageReady = false;
  $("trial").dataset.ready = "0";
  $("trial").dataset.index = String(i);
  img.classList.add("loading");
  const mine = ++shown;
  img.onload = () => {
    img.classList.remove("loading");
    setTimeout(() => {
      if (mine !== shown) return;
      imageReady = true;
      $("trial").dataset.ready = "1";
    }, MIN_VIEW_MS);
  };
  img.src = s.trials[i];
  if (i + 1 < s.trials.length) new Image().src = s.trials[i + 1]; // preload the next one
  show("trial");
}

async function answer(choice) {
  if (busy || !state || state.finished || !imageReady) return;
  busy = true;
  const btn = $(choice === "real" ? "answer-real" : "answer-fake");
  btn.classList.add("pressed");
  const { status, data } = await api("POST", `/api/sessions/${state.session}/answers`, {
    trial: state.next,
    answer: choice,
  });
  btn.classList.remove("pressed");
  if (status === 200) {
    state.next = data.next;
    state.finished = data.finished;
    if (data.finished) state.score = data.score;
    render();
  } else if (status === 409) {
    await load(state.session); // out of step with the server (another tab?): resync
  } else {
    banner(data.detail || "Something went wrong (" + status + ")");
  }
  busy = false;
}

async function load(sid) {
  const { status, data } = await api("GET", `/api/sessions/${sid}`);
  if (status !== 200) {
    localStorage.removeItem(KEY);
    state = null;
    show("welcome");
    return;
  }
  state = { ...data, started: data.next > 0 };
  render();
}

async function begin(ev) {
  ev.preventDefault();
  if (busy) return;
  busy = true;
  const { status, data } = await api("POST", "/api/sessions", { name: $("name").value });
  busy = false;
  if (status !== 201) {
    banner(data.detail || "Could not start (" + status + ")");
    return;
  }
  localStorage.setItem(KEY, data.session);
  state = { ...data, started: false };
  render();
}

function startTest() {
  state.started = true;
  render();
}

document.addEventListener("keydown", (e) => {
  if (e.repeat || e.ctrlKey || e.metaKey || e.altKey) return;
  if (e.target instanceof HTMLInputElement) return;
  const k = e.key.toLowerCase();
  if (!$("trial").hidden) {
    if (k === "r") answer("real");
    else if (k === "f") answer("fake");
  } else if (!$("instructions").hidden && (k === "enter" || k === " ")) {
    e.preventDefault();
    startTest();
  }
});

$("start-form").addEventListener("submit", begin);
$("start-test").addEventListener("click", startTest);
// blur after a click, so a later Enter or Space cannot answer the next image by accident
$("answer-real").addEventListener("click", (e) => (e.currentTarget.blur(), answer("real")));
$("answer-fake").addEventListener("click", (e) => (e.currentTarget.blur(), answer("fake")));
$("again").addEventListener("click", () => {
  localStorage.removeItem(KEY);
  state = null;
  $("name").value = "";
  $("who").textContent = "";
  show("welcome");
  $("name").focus();
});

api("GET", "/api/study").then(({ data }) => {
  if (data.n_trials) $("w-total").textContent = data.n_trials;
});

const saved = localStorage.getItem(KEY);
if (saved) load(saved);
else {
  show("welcome");
  $("name").focus();
}
