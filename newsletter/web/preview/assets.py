"""The preview's stylesheet and script, served from memory (no build step, no framework)."""

from __future__ import annotations

CSS = """
:root { --fg: #1d2430; --muted: #5f6b7a; --line: #d9dee5; --bg: #f4f6f8; --card: #fff;
  --accent: #0b5cad; --ok: #1a7f37; --bad: #c62828; --warn: #9a6700; }
* { box-sizing: border-box; }
[hidden] { display: none !important; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  color: var(--fg); background: var(--bg); }
a { color: var(--accent); }
main { padding: 16px 20px 40px; }
h1 { font-size: 22px; margin: 4px 0 16px; }
h2 { font-size: 15px; margin: 0 0 8px; }
h3 { font-size: 13px; margin: 16px 0 6px; color: var(--muted); text-transform: uppercase; letter-spacing: .04em; }
small, .hint, .meta { color: var(--muted); font-weight: normal; }
.hint { font-size: 12.5px; margin: 6px 0 0; }
pre { font: 12.5px/1.45 ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; }
.top { display: flex; align-items: center; gap: 10px; padding: 10px 20px; background: #1d2430; color: #fff; }
.top a { color: #fff; text-decoration: none; }
.brand { font-weight: 600; }
.crumb { color: #c5ccd6; }
.live { margin-left: auto; font-size: 12px; color: #9be3b0; }
.live::before { content: "●"; margin-right: 4px; }
.live.down { color: #f0a0a0; }
.live.down::after { content: " (reconnecting)"; }
.issues { list-style: none; padding: 0; margin: 0; max-width: 860px; }
.issues > li > a { display: block; padding: 12px 16px; margin-bottom: 10px; background: var(--card);
  border: 1px solid var(--line); border-radius: 8px; color: inherit; text-decoration: none; }
.issues > li > a:hover { border-color: var(--accent); }
.month { font-size: 16px; font-weight: 600; margin-right: 8px; }
.file { float: right; color: var(--muted); font-size: 12px; }
.titles { margin: 6px 0 0; padding-left: 18px; color: #333; }
.status { display: inline-block; padding: 0 8px; border-radius: 10px; font-size: 12px; font-weight: 600; }
.status.ok { color: var(--ok); background: #e6f4ea; }
.status.bad { color: var(--bad); background: #fdecea; }
.status.warn { color: var(--warn); background: #fff4d6; }
.summary p { margin: 0 0 2px; }
.summary { margin-bottom: 10px; }
.problems-box { background: #fff; border: 1px solid #f1b5b5; border-left: 4px solid var(--bad);
  border-radius: 6px; padding: 10px 14px; margin-bottom: 12px; max-width: 1200px; }
.problems-box h2 { color: var(--bad); }
.warn-box { border-color: #f0d68a; border-left-color: var(--warn); }
.warn-box h2 { color: var(--warn); }
.problem p { margin: 4px 0; }
.problem.warning .where { color: var(--warn); }
.where { font-size: 12.5px; color: var(--bad); }
.quote { margin: 2px 0 8px; padding: 6px 10px; background: #fbf7f7; border-radius: 4px; overflow-x: auto; }
.quote .ln { color: var(--muted); }
.caret { color: var(--bad); font-weight: 700; }
.variant { display: grid; grid-template-columns: auto minmax(0, 1fr); align-items: baseline; gap: 4px 12px;
  padding: 8px 12px; background: var(--card); border: 1px solid var(--line); border-radius: 8px; margin-bottom: 12px; }
.variant .label { font-weight: 600; grid-row: span 3; }
.variant .nojs { justify-self: start; grid-column: 2; }
.chip { display: inline-block; padding: 1px 8px; margin: 2px; border: 1px solid var(--line);
  border-radius: 12px; font-size: 12.5px; }
select, input[type=email] { font: inherit; padding: 3px 6px; border: 1px solid #b9c1cc; border-radius: 4px; }
select { max-width: 360px; }
button, .button { font: inherit; padding: 5px 12px; border-radius: 5px; border: 1px solid var(--accent);
  background: var(--accent); color: #fff; cursor: pointer; text-decoration: none; display: inline-block; }
button:disabled { background: #aab4c0; border-color: #aab4c0; cursor: not-allowed; }
.js .nojs { display: none; }
.notice { padding: 10px 14px; background: #fff4d6; border: 1px solid #f0d68a; border-radius: 6px; max-width: 900px; }
.layout { display: grid; grid-template-columns: minmax(0, 1fr); gap: 16px; align-items: start; }
@media (min-width: 1560px) { .layout { grid-template-columns: minmax(0, 1fr) 340px; } }
@media (max-width: 1559px) { .side { display: grid; grid-template-columns: repeat(auto-fit, minmax(300px, 1fr)); gap: 16px; } }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 12px 14px; margin-bottom: 16px; }
.side .card { margin-bottom: 0; }
@media (min-width: 1560px) { .side .card { margin-bottom: 16px; } }
.tabs { display: flex; flex-wrap: wrap; gap: 4px; align-items: center; margin-bottom: 10px; }
.tab { padding: 5px 12px; border-radius: 5px; color: var(--fg); text-decoration: none; border: 1px solid transparent; }
.tab:hover { border-color: var(--line); }
.tab.small { font-size: 12.5px; padding: 3px 9px; }
.spacer { flex: 1; }
.viewer[data-tab=email] [data-tab=email], .viewer[data-tab=text] [data-tab=text],
.viewer[data-tab=source] [data-tab=source], .viewer[data-view=both] [data-view=both],
.viewer[data-view=desktop] [data-view=desktop], .viewer[data-view=phone] [data-view=phone] {
  background: var(--card); border-color: var(--line); font-weight: 600; }
.panel { display: none; }
.viewer[data-tab=email] .panel-email, .viewer[data-tab=text] .panel-text,
.viewer[data-tab=source] .panel-source { display: block; }
.viewer[data-tab=text] [data-view], .viewer[data-tab=source] [data-view] { visibility: hidden; }
.frames { display: flex; gap: 20px; align-items: flex-start; overflow-x: auto; padding-bottom: 6px; }
.frame { margin: 0; flex: none; }
.frame figcaption { font-size: 12px; color: var(--muted); margin-bottom: 4px; }
.frame iframe { display: block; border: 1px solid var(--line); border-radius: 6px; background: #fff;
  height: max(480px, calc(100vh - 260px)); }
.frame.desktop iframe { width: 802px; }  /* 800 px inside the border */
.frame.phone iframe { width: 391px; border-radius: 18px; border-width: 8px; border-color: #1d2430; }
.viewer[data-view=desktop] .frame.phone, .viewer[data-view=phone] .frame.desktop { display: none; }
.plain, .headers, .source { background: var(--card); border: 1px solid var(--line); border-radius: 6px;
  padding: 12px 14px; overflow: auto; white-space: pre-wrap; word-break: break-all; margin: 0; }
.plain { max-width: 80ch; white-space: pre; word-break: normal; }
.source { max-height: 70vh; }
.source i { display: inline-block; width: 4ch; margin-right: 1ch; color: var(--muted); font-style: normal;
  text-align: right; user-select: none; }
.source span:target, .source span.hit { background: #fff4d6; }
.checks { list-style: none; padding: 0; margin: 0; }
.checks li { padding: 4px 0; border-bottom: 1px solid #eef1f4; }
.checks .mark { display: inline-block; width: 1.3em; font-weight: 700; }
.checks .ok .mark { color: var(--ok); }
.checks .bad .mark, .bad { color: var(--bad); }
.checks .where { color: var(--muted); font-size: 12.5px; }
#send-form label { display: block; margin-bottom: 8px; }
#send-form input[type=email] { width: 100%; margin-top: 2px; }
.status-line { min-height: 1em; margin: 8px 0 0; font-size: 13px; }
.status-line.ok { color: var(--ok); }
.outbox { padding-left: 18px; margin: 0; }
.outbox li { margin-bottom: 6px; }
.outbox .meta { display: block; font-size: 12px; }
"""

JS = r"""
"use strict";
(() => {
  document.documentElement.classList.add("js");
  const body = document.body;
  let running = false, queued = null, typedTo = null;

  const frameLoad = (frame, doc) => new Promise(resolve => {
    let y = 0;
    try { y = frame.contentWindow.scrollY; } catch (e) { /* not loaded yet */ }
    const done = () => { try { if (y) frame.contentWindow.scrollTo(0, y); } catch (e) {} resolve(); };
    frame.addEventListener("load", done, {once: true});
    setTimeout(resolve, 3000);
    frame.setAttribute("srcdoc", doc);
  });

  function apply(doc) {
    document.title = doc.title;
    if (doc.body.dataset.page !== body.dataset.page) {
      body.innerHTML = doc.body.innerHTML;
      body.dataset.page = doc.body.dataset.page;
      return [];
    }
    for (const el of document.querySelectorAll("[data-swap]")) {
      const fresh = doc.getElementById(el.id);
      if (fresh) el.replaceWith(document.adoptNode(fresh));
    }
    for (const el of document.querySelectorAll("[data-toggle]")) {
      const fresh = doc.getElementById(el.id);
      if (!fresh) continue;
      el.hidden = fresh.hidden;
      Object.assign(el.dataset, {tab: fresh.dataset.tab, view: fresh.dataset.view});
    }
    const crumb = doc.querySelector(".crumb"), mine = document.querySelector(".crumb");
    if (crumb && mine) mine.textContent = crumb.textContent;
    const to = document.querySelector("#send-form input[name=to]");
    if (to && typedTo !== null) to.value = typedTo;
    const waits = [];
    for (const frame of document.querySelectorAll("iframe[data-frame]")) {
      const fresh = doc.getElementById(frame.id);
      const src = fresh ? fresh.getAttribute("srcdoc") : null;
      if (src !== null && src !== frame.getAttribute("srcdoc")) waits.push(frameLoad(frame, src));
    }
    return waits;
  }

  async function refresh(url) {
    if (running) { queued = url; return; }
    running = true;
    try {
      const res = await fetch(url, {cache: "no-store", headers: {"X-Preview": "refresh"}});
      const doc = new DOMParser().parseFromString(await res.text(), "text/html");
      await Promise.all(apply(doc));
      body.dataset.version = doc.body.dataset.version;
      window.__lastUpdate = {at: Date.now(), version: body.dataset.version, url: url};
      document.dispatchEvent(new CustomEvent("preview:updated"));
      fillLazy();
    } catch (e) {
      document.getElementById("live")?.classList.add("down");
    } finally {
      running = false;
      if (queued !== null) { const next = queued; queued = null; refresh(next); }
    }
  }

  async function fillLazy() {  // slow extras, fetched once the e-mail itself is on screen
    for (const el of document.querySelectorAll("[data-lazy]")) {
      try {
        const res = await fetch(el.dataset.lazy, {cache: "no-store"});
        if (res.ok) el.innerHTML = await res.text();
      } catch (e) { /* the next update tries again */ }
    }
  }

  function setParam(name, value) {
    const url = new URL(location.href);
    url.searchParams.set(name, value);
    history.replaceState(null, "", url);
    const input = document.querySelector(`#variant-form input[name=${name}]`);
    if (input) input.value = value;
  }

  function showVariant(form) {
    const url = new URL(form.getAttribute("action"), location.href);
    url.search = new URLSearchParams(new FormData(form)).toString();
    history.pushState(null, "", url);
    refresh(url.href);
  }

  document.addEventListener("click", e => {
    const a = e.target.closest("a[data-tab], a[data-view]");
    const viewer = document.getElementById("viewer");
    if (!a || !viewer) return;
    e.preventDefault();
    if (a.dataset.tab) { viewer.dataset.tab = a.dataset.tab; setParam("tab", a.dataset.tab); }
    if (a.dataset.view) { viewer.dataset.view = a.dataset.view; setParam("view", a.dataset.view); }
    const target = a.hash ? document.getElementById(a.hash.slice(1)) : null;
    if (target) {
      document.querySelectorAll(".hit").forEach(el => el.classList.remove("hit"));
      target.classList.add("hit");
      target.scrollIntoView({block: "center"});
    }
  });

  document.addEventListener("change", e => {
    const form = e.target.closest("#variant-form");
    if (!form) return;
    const pick = {topic: "topics", sub: "subscriber"}[e.target.name];
    if (pick) form.querySelector(`input[name=variant][value=${pick}]`).checked = true;
    showVariant(form);
  });

  document.addEventListener("input", e => { if (e.target.name === "to") typedTo = e.target.value; });

  document.addEventListener("submit", async e => {
    const form = e.target;
    if (form.id === "variant-form") { e.preventDefault(); showVariant(form); return; }
    if (form.id !== "send-form") return;
    e.preventDefault();
    const status = document.getElementById("send-status");
    status.className = "status-line";
    status.textContent = "Sending…";
    try {
      const res = await fetch(form.action, {method: "POST", headers: {Accept: "application/json"},
                                            body: new URLSearchParams(new FormData(form))});
      const data = await res.json();
      status.textContent = data.message;
      status.classList.add(data.ok ? "ok" : "bad");
    } catch (err) {
      status.textContent = "The preview server did not answer.";
      status.classList.add("bad");
    }
    refresh(location.href);
  });

  window.addEventListener("popstate", () => refresh(location.href));
  fillLazy();

  const events = new EventSource("/events");
  const live = () => document.getElementById("live");
  events.addEventListener("change", e => {
    live()?.classList.remove("down");
    if (JSON.parse(e.data).version !== body.dataset.version) refresh(location.href);
  });
  events.onopen = () => { live()?.classList.remove("down"); window.__previewReady = true; };
  events.onerror = () => live()?.classList.add("down");
  window.addEventListener("pagehide", () => events.close());
})();
"""
