// The owner's results page: fetches /api/results with the token from this page's URL and
// draws one block per condition. All text goes in through textContent (names are user input).
"use strict";

const token = new URLSearchParams(location.search).get("token") || "";
const q = "token=" + encodeURIComponent(token);
const $ = (id) => document.getElementById(id);

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") e.className = v;
    else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c instanceof Node ? c : String(c));
  return e;
}

const pct = (x) => (x === null || x === undefined ? "–" : (100 * x).toFixed(1) + "%");
function pval(p) {
  if (p >= 0.001) return p.toFixed(3);
  return p.toExponential(1);
}

function stat(value, key, id) {
  const v = el("div", { class: "v" }, value);
  if (id) v.id = id;
  return el("div", { class: "stat" }, v, el("div", { class: "k" }, key));
}

function confusion(c, other) {
  const m = c.confusion;
  const cell = (t, a) => el("td", { class: "num " + (t === a ? "hit" : "miss") }, m[t][a]);
  return el(
    "table",
    { class: "confusion" },
    el("tr", {}, el("th", {}, "truth \\ answer"), el("th", { class: "num" }, "real"),
      el("th", { class: "num" }, other)),
    el("tr", {}, el("th", {}, "real"), cell("real", "real"), cell("real", "fake")),
    el("tr", {}, el("th", {}, other), cell("fake", "real"), cell("fake", "fake")),
  );
}

function participants(c) {
  const t = el("table", { class: "participants" },
    el("tr", {}, el("th", {}, "participant"), el("th", { class: "num" }, "correct"),
      el("th", { class: "num" }, "accuracy"), el("th", { class: "num" }, "p"),
      el("th", {}, "status")));
  for (const p of c.participants) {
    t.append(el("tr", {},
      el("td", {}, p.name || "(no name)"),
      el("td", { class: "num" }, `${p.correct} / ${p.answered}`),
      el("td", { class: "num" }, pct(p.accuracy)),
      el("td", { class: "num" }, pval(p.p_value)),
      el("td", { class: "muted" }, p.finished ? "finished" : `${p.answered} of ${p.n_trials}`)));
  }
  return t;
}

function mistaken(c, other) {
  if (!c.mistaken.length) return el("p", { class: "muted" }, "No mistakes yet.");
  const box = el("div", { class: "thumbs" });
  for (const m of c.mistaken) {
    const img = el("img", { class: "pixelated", alt: `${m.source} image ${m.row}`,
      title: `${m.source} image, row ${m.row} of its file`,
      src: `/api/results/image/${encodeURIComponent(m.source)}/${m.row}?${q}` });
    const word = m.truth === "real" ? "real" : other;
    box.append(el("figure", {}, img, el("figcaption", {},
      el("span", { class: "tag " + m.truth }, word), ` #${m.row}`, el("br"),
      `${m.wrong} of ${m.shown} wrong`)));
  }
  return box;
}

function condition(name, c) {
  const o = c.overall;
  const other = c.label.split(" ").pop();
  const block = el("section", { class: "condition", id: "cond-" + name });
  block.append(el("h2", {}, c.label.charAt(0).toUpperCase() + c.label.slice(1)));
  const stats = el("div", { class: "stats" },
    stat(pct(o.accuracy), `accuracy (${o.correct} / ${o.total} correct)`, `acc-${name}`),
    stat(pval(o.p_value), "p-value vs chance", `p-${name}`),
    stat(o.ci95 ? `${Math.round(100 * o.ci95[0])}–${Math.round(100 * o.ci95[1])}%` : "–",
      "95% confidence interval"),
    stat(String(c.participants.length), "participants"));
  if (c.paper) {
    stats.append(stat(pct(c.paper.correct / c.paper.total),
      `paper (${c.paper.correct} / ${c.paper.total})`));
  }
  block.append(stats);
  block.append(el("div", { class: "cols" },
    el("div", {}, el("h3", {}, "Confusion"), confusion(c, other)),
    el("div", {}, el("h3", {}, "Participants"), participants(c))));
  block.append(el("h3", {}, "Images most often mistaken"), mistaken(c, other));
  return block;
}

async function refresh() {
  const r = await fetch("/api/results?" + q, { cache: "no-store" }).catch(() => null);
  if (!r || !r.ok) {
    $("banner").textContent = r ? `Could not load results (${r.status}).` : "Server unreachable.";
    $("banner").hidden = false;
    return;
  }
  $("banner").hidden = true;
  const data = await r.json();
  const box = $("conditions");
  box.replaceChildren();
  for (const [name, c] of Object.entries(data.conditions)) box.append(condition(name, c));
  $("updated").textContent = "Updated " + new Date().toLocaleTimeString();
}

$("csv").href = "/api/results.csv?" + q;
$("refresh").addEventListener("click", refresh);
refresh();
setInterval(refresh, 15000);
