/// The one web page of `cocoon-serve`: inline CSS and JS, no external assets. Stable element ids
/// for browser tests: search-input, search-button, results, upload-input, predictions, stats,
/// accuracy-table (plus dataset-select, split-select, top-input, prompt-select, accuracy-button).
/// A deep link `/#dataset=D&q=TEXT&top=N&prompt=NAME` runs a search (and the accuracy table) on
/// load, and `<body data-ready="true">` marks the end: what the headless-browser test reads.
enum ServePage {
    static let html = #"""
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>cocoon</title>
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 0; color: #222; background: #fafafa; }
  header { background: #234; color: #fff; padding: 10px 20px; }
  header h1 { margin: 0; font-size: 18px; }
  main { display: grid; grid-template-columns: 1fr 1fr; gap: 16px; padding: 16px 20px; }
  section { background: #fff; border: 1px solid #ddd; border-radius: 6px; padding: 12px; }
  section.wide { grid-column: 1 / span 2; }
  h2 { font-size: 15px; margin: 0 0 8px; }
  input, select, button { font: inherit; padding: 3px 6px; }
  #results { display: grid; grid-template-columns: repeat(auto-fill, minmax(110px, 1fr)); gap: 8px; margin-top: 10px; }
  .card { border: 1px solid #eee; border-radius: 4px; padding: 4px; text-align: center; font-size: 12px; }
  .card img { width: 100%; image-rendering: pixelated; background: #eee; aspect-ratio: 1; object-fit: contain; }
  .card .noimg { width: 100%; aspect-ratio: 1; background: #eee; display: flex; align-items: center; justify-content: center; color: #999; }
  #predictions { display: flex; gap: 16px; flex-wrap: wrap; margin-top: 10px; }
  .head { flex: 1 1 220px; }
  .bar { display: flex; align-items: center; gap: 6px; margin: 3px 0; font-size: 12px; }
  .bar .label { width: 110px; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
  .bar .track { flex: 1; background: #eee; height: 12px; border-radius: 2px; }
  .bar .fill { background: #48a; height: 12px; border-radius: 2px; }
  table { border-collapse: collapse; width: 100%; font-size: 12px; }
  th, td { border-bottom: 1px solid #eee; padding: 3px 6px; text-align: left; }
  th { cursor: pointer; user-select: none; background: #f3f3f3; }
  td.num { text-align: right; font-variant-numeric: tabular-nums; }
  .error { color: #b00; }
  .up { color: #070; } .down { color: #b00; }
  pre { margin: 0; font-size: 12px; white-space: pre-wrap; }
</style>
</head>
<body>
<header><h1>cocoon — CLIP feature cache</h1></header>
<main>
  <section class="wide">
    <h2>Text → image search</h2>
    <select id="dataset-select"></select>
    <select id="split-select"><option>test</option><option>val</option><option>train</option></select>
    <input id="search-input" type="text" size="40" placeholder="a photo of a red circle">
    <input id="top-input" type="number" min="1" max="1000" value="24" style="width:5em">
    <button id="search-button">Search</button>
    <span id="search-status"></span>
    <div id="results"></div>
  </section>
  <section>
    <h2>Classify an image</h2>
    <input id="upload-input" type="file" accept="image/jpeg,image/png">
    <span id="upload-status"></span>
    <div id="predictions"></div>
  </section>
  <section>
    <h2>Store</h2>
    <div id="stats">loading…</div>
  </section>
  <section class="wide">
    <h2>Per-class accuracy (cached test split)</h2>
    <select id="prompt-select"></select>
    <button id="accuracy-button">Compare with zero-shot</button>
    <span id="accuracy-status"></span>
    <table id="accuracy-table"><thead></thead><tbody></tbody></table>
    <div id="confusion"></div>
  </section>
</main>
<script>
"use strict";
const $ = (id) => document.getElementById(id);
function esc(s) { return String(s).replace(/[&<>"']/g, (c) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c])); }
async function getJSON(url, options) {
  const response = await fetch(url, options);
  let body;
  try { body = await response.json(); } catch (e) { throw new Error("HTTP " + response.status); }
  if (!response.ok) throw new Error(body.error || ("HTTP " + response.status));
  return body;
}

async function loadStats() {
  try {
    const s = await getJSON("/api/stats");
    const rows = s.groups.map((g) => `<tr><td>${esc(g.model)}</td><td>${esc(g.dataset)}</td><td>${esc(g.split)}</td>` +
      `<td class="num">${g.items}</td><td class="num">${g.features}</td><td class="num">${g.failures}</td></tr>`).join("");
    $("stats").innerHTML = `<p>${esc(s.store)} — schema ${s.schema}, ${s.file_bytes} bytes, ${s.items} items, ${s.features} features, ${s.failures} failures</p>` +
      `<table><thead><tr><th>model</th><th>dataset</th><th>split</th><th>items</th><th>features</th><th>failures</th></tr></thead><tbody>${rows}</tbody></table>`;
    const preferred = s.roots.length ? s.roots : s.datasets;
    $("dataset-select").innerHTML = preferred.concat(s.datasets.filter((d) => !preferred.includes(d)))
      .map((d) => `<option>${esc(d)}</option>`).join("");
    $("prompt-select").innerHTML = s.prompts.map((p) => `<option value="${esc(p.name)}">${esc(p.name)} (${esc(p.method)}, ${esc(p.dataset)})</option>`).join("");
    $("accuracy-button").disabled = s.prompts.length === 0;
    if (!s.prompts.length) $("accuracy-status").textContent = "no prompts loaded (start with --prompt FILE)";
  } catch (e) {
    $("stats").innerHTML = `<span class="error">${esc(e.message)}</span>`;
  }
}

async function search() {
  const q = $("search-input").value.trim();
  if (!q) return;
  const params = new URLSearchParams({dataset: $("dataset-select").value, split: $("split-select").value, q: q, top: $("top-input").value || "24"});
  $("search-status").textContent = "searching…";
  try {
    const r = await getJSON("/api/search?" + params);
    $("search-status").textContent = `${r.results.length} of ${r.count}`;
    $("results").innerHTML = r.results.map((x) => `<div class="card" title="${esc(x.path)}">` +
      (x.thumb ? `<img src="${esc(x.thumb)}" alt="${esc(x.classname)}">` : `<div class="noimg">no --root</div>`) +
      `<div>${esc(x.classname)}</div><div>${x.score.toFixed(4)}</div></div>`).join("");
  } catch (e) {
    $("search-status").innerHTML = `<span class="error">${esc(e.message)}</span>`;
    $("results").innerHTML = "";
  }
}

async function classify() {
  const file = $("upload-input").files[0];
  if (!file) return;
  $("upload-status").textContent = "classifying…";
  try {
    const r = await getJSON("/api/classify?" + new URLSearchParams({dataset: $("dataset-select").value}), {method: "POST", body: file});
    $("upload-status").textContent = r.dataset ? `classes of ${r.dataset}` : "";
    $("predictions").innerHTML = r.classifiers.map((c) => `<div class="head"><h3>${esc(c.name)} <small>(${esc(c.kind)})</small></h3>` +
      c.top.map((t) => `<div class="bar"><span class="label" title="${esc(t.class)}">${esc(t.class)}</span>` +
        `<span class="track"><div class="fill" style="width:${(100 * t.probability).toFixed(1)}%"></div></span>` +
        `<span>${(100 * t.probability).toFixed(1)}%</span></div>`).join("") + `</div>`).join("");
  } catch (e) {
    $("upload-status").innerHTML = `<span class="error">${esc(e.message)}</span>`;
    $("predictions").innerHTML = "";
  }
}

let accuracyRows = [], sortKey = "label", sortAscending = true;
const columns = [["label", "#"], ["class", "class"], ["count", "images"], ["zeroshot", "zero-shot %"], ["prompt", "prompt %"], ["delta", "Δ"]];
function renderAccuracy() {
  const rows = accuracyRows.slice().sort((a, b) => {
    const x = a[sortKey], y = b[sortKey];
    const c = typeof x === "string" ? x.localeCompare(y) : x - y;
    return sortAscending ? c : -c;
  });
  $("accuracy-table").tHead.innerHTML = "<tr>" + columns.map(([k, t]) =>
    `<th data-key="${k}">${t}${k === sortKey ? (sortAscending ? " ▲" : " ▼") : ""}</th>`).join("") + "</tr>";
  $("accuracy-table").tBodies[0].innerHTML = rows.map((r) => `<tr><td class="num">${r.label}</td><td>${esc(r.class)}</td>` +
    `<td class="num">${r.count}</td><td class="num">${r.zeroshot.toFixed(1)}</td><td class="num">${r.prompt.toFixed(1)}</td>` +
    `<td class="num ${r.delta > 0 ? "up" : r.delta < 0 ? "down" : ""}">${r.delta.toFixed(1)}</td></tr>`).join("");
}
$("accuracy-table").addEventListener("click", (event) => {
  const key = event.target.dataset && event.target.dataset.key;
  if (!key) return;
  if (key === sortKey) sortAscending = !sortAscending; else { sortKey = key; sortAscending = key === "class" || key === "label"; }
  renderAccuracy();
});

async function accuracy() {
  const prompt = $("prompt-select").value;
  if (!prompt) return;
  $("accuracy-status").textContent = "evaluating…";
  try {
    const r = await getJSON("/api/accuracy?" + new URLSearchParams({prompt: prompt, dataset: $("dataset-select").value}));
    $("accuracy-status").textContent = `${r.dataset}: zero-shot ${r.accuracy.zeroshot.toFixed(2)}%, ${r.prompt} ${r.accuracy.prompt.toFixed(2)}% on ${r.count} images`;
    accuracyRows = r.classes.map((c) => Object.assign({delta: c.prompt - c.zeroshot}, c));
    renderAccuracy();
    $("confusion").innerHTML = "<h3>Confusions that changed most</h3><table><thead><tr><th>true</th><th>predicted</th><th>zero-shot</th><th>prompt</th><th>change</th></tr></thead><tbody>" +
      r.confusion_changes.map((p) => `<tr><td>${esc(p.true)}</td><td>${esc(p.predicted)}</td><td class="num">${p.zeroshot}</td>` +
        `<td class="num">${p.prompt}</td><td class="num ${p.change < 0 ? "up" : "down"}">${p.change > 0 ? "+" : ""}${p.change}</td></tr>`).join("") + "</tbody></table>";
  } catch (e) {
    $("accuracy-status").innerHTML = `<span class="error">${esc(e.message)}</span>`;
  }
}

$("search-button").addEventListener("click", search);
$("search-input").addEventListener("keydown", (event) => { if (event.key === "Enter") search(); });
$("upload-input").addEventListener("change", classify);
$("accuracy-button").addEventListener("click", accuracy);

// Deep links: #dataset=D&split=S&q=TEXT&top=N&prompt=NAME fills the controls and runs the search
// (and the accuracy table when a prompt is named) once the stats have loaded.
async function start() {
  await loadStats();
  const link = new URLSearchParams(location.hash.slice(1));
  const choose = (id, value) => { if (value !== null && [...$(id).options].some((o) => o.value === value)) $(id).value = value; };
  choose("dataset-select", link.get("dataset"));
  choose("split-select", link.get("split"));
  choose("prompt-select", link.get("prompt"));
  if (link.get("top")) $("top-input").value = link.get("top");
  const work = [];
  if (link.get("q")) { $("search-input").value = link.get("q"); work.push(search()); }
  if (link.get("prompt")) work.push(accuracy());
  await Promise.all(work);
  document.body.dataset.ready = "true";
}
start();
</script>
</body>
</html>
"""#
}
