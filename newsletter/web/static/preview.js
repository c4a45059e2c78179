
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
      fitAll();
      return [];
    }
    // what the author is typing in survives the swap (the subscriber search, the To box)
    const active = document.activeElement, typing = active && active.id && active.closest("[data-swap]")
      ? {id: active.id, value: active.value, start: active.selectionStart, end: active.selectionEnd} : null;
    for (const el of document.querySelectorAll("[data-swap]")) {
      const fresh = doc.getElementById(el.id);
      if (fresh) el.replaceWith(document.adoptNode(fresh));
    }
    if (typing) {
      const el = document.getElementById(typing.id);
      if (el && "value" in el) {
        el.value = typing.value;
        el.focus();
        try { el.setSelectionRange(typing.start, typing.end); } catch (e) { /* not a text box */ }
        if (el.id === "sub-input") suggest(el.value);
      }
    }
    for (const el of document.querySelectorAll("[data-toggle]")) {
      const fresh = doc.getElementById(el.id);
      if (!fresh) continue;
      el.hidden = fresh.hidden;
      el.className = fresh.className;  // e.g. "stale": the last good render, dimmed
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
    fitAll();
    return waits;
  }

  // -- frames scaled to the room there is: the 800 px desktop frame and the 375 px phone frame are
  // always shown whole; side by side when both fit at 75 % or more, else one above the other,
  // each scaled down only if it does not fit alone. The e-mail inside keeps its real width.
  const NATURAL = {desktop: 802, phone: 391}, GAP = 20, SIDE_BY_SIDE = 0.75;  // widths with borders
  function fit(container) {
    const room = container.clientWidth;
    if (!room) return;
    const height = Math.max(420, Math.min(window.innerHeight - 220, 1400));
    const shown = [...container.querySelectorAll(".frame")].filter(f => getComputedStyle(f).display !== "none");
    const widths = shown.map(f => NATURAL[f.classList.contains("phone") ? "phone" : "desktop"]);
    const pair = shown.length > 1 ? (room - GAP * (shown.length - 1)) / widths.reduce((a, b) => a + b, 0) : 0;
    shown.forEach((figure, i) => {
      const frame = figure.querySelector("iframe"), scaler = figure.querySelector(".scaler");
      const scaled = Math.floor(widths[i] * Math.min(1, pair >= SIDE_BY_SIDE ? pair : room / widths[i]));
      const k = scaled / widths[i];  // whole pixels: the frame fills its box exactly
      frame.style.height = `${Math.round(height / k)}px`;
      frame.style.transform = k < 1 ? `scale(${k})` : "";
      scaler.style.width = `${scaled}px`;
      scaler.style.height = `${Math.round(height)}px`;
      const note = figure.querySelector(".scale");
      if (note) note.textContent = k < 1 ? ` · shown at ${Math.round(k * 100)} %` : "";
    });
  }
  function fitAll() { document.querySelectorAll("[data-fit]").forEach(fit); }
  const watcher = new ResizeObserver(fitAll);
  function observeFrames() { document.querySelectorAll("[data-fit]").forEach(el => watcher.observe(el)); }

  async function refresh(url) {
    if (running) { queued = url; return; }
    running = true;
    try {
      const res = await fetch(url, {cache: "no-store", headers: {"X-Preview": "refresh"}});
      const doc = new DOMParser().parseFromString(await res.text(), "text/html");
      await Promise.all(apply(doc));
      body.dataset.version = doc.body.dataset.version;
      window.__lastUpdate = {at: Date.now(), version: body.dataset.version, url: url};
      observeFrames();
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
    fitAll();
    const target = a.hash ? document.getElementById(a.hash.slice(1)) : null;
    if (target) {
      document.querySelectorAll(".hit").forEach(el => el.classList.remove("hit"));
      target.classList.add("hit");
      target.scrollIntoView({block: "center"});
    }
  });

  document.addEventListener("change", e => {
    const form = e.target.closest("#variant-form");
    if (!form || e.target.name === "sub") return;  // the subscriber box has its own picker below
    if (e.target.name === "topic") form.querySelector("input[name=variant][value=topics]").checked = true;
    showVariant(form);
  });

  // -- "as subscriber": a search box asking the server (the list may hold 100,000 readers)
  let asked = 0, timer = null;
  const list = () => document.getElementById("sub-list");
  const box = () => document.getElementById("sub-input");

  function closeList() {
    const ul = list();
    if (ul) { ul.hidden = true; ul.replaceChildren(); }
    box()?.setAttribute("aria-expanded", "false");
  }

  async function suggest(query) {
    const mine = ++asked;
    let data;
    try {
      const res = await fetch(`/subscribers?limit=12&q=${encodeURIComponent(query)}`, {cache: "no-store"});
      data = await res.json();
    } catch (e) { return; }
    const ul = list(), input = box();
    if (mine !== asked || !ul || !input || document.activeElement !== input) return;
    ul.replaceChildren();
    for (const s of data.items) {
      const li = document.createElement("li");
      li.setAttribute("role", "option");
      li.id = `sub-opt-${ul.children.length}`;
      li.dataset.email = s.email;
      li.textContent = s.name ? `${s.name} <${s.email}>` : s.email;
      const small = document.createElement("small");
      small.textContent = s.topics;
      li.append(small);
      ul.append(li);
    }
    const shown = data.items.length, matches = data.more ? `${data.matches.toLocaleString()}+` : data.matches.toLocaleString();
    const more = document.createElement("li");
    more.className = "more";
    more.textContent = !shown ? "no subscriber matches" : shown < data.matches || data.more
      ? `${shown} of ${matches} matching; keep typing to narrow` : `${shown} of ${data.total.toLocaleString()} subscribers`;
    ul.append(more);
    ul.hidden = false;
    input.setAttribute("aria-expanded", "true");
  }

  function choose(li) {
    const form = document.getElementById("variant-form"), input = box();
    if (!form || !input || !li?.dataset.email) return;
    input.value = li.dataset.email;
    form.querySelector("input[name=variant][value=subscriber]").checked = true;
    closeList();
    showVariant(form);
  }

  function move(step) {
    const options = [...(list()?.querySelectorAll("[role=option]") || [])];
    if (!options.length) return;
    const at = options.findIndex(o => o.getAttribute("aria-selected") === "true");
    const next = options[(at + step + options.length) % options.length];
    options.forEach(o => o.setAttribute("aria-selected", String(o === next)));
    box()?.setAttribute("aria-activedescendant", next.id);
    next.scrollIntoView({block: "nearest"});
  }

  document.addEventListener("input", e => {
    if (e.target.id !== "sub-input") return;
    clearTimeout(timer);
    const query = e.target.value;
    timer = setTimeout(() => suggest(query), 80);
  });
  document.addEventListener("focusin", e => { if (e.target.id === "sub-input") suggest(e.target.value); });
  document.addEventListener("focusout", e => {  // not when a live update only replaced the box
    if (e.target.id === "sub-input") setTimeout(() => { if (document.activeElement !== box()) closeList(); }, 150);
  });
  document.addEventListener("keydown", e => {
    if (e.target.id !== "sub-input") return;
    if (e.key === "ArrowDown" || e.key === "ArrowUp") { e.preventDefault(); move(e.key === "ArrowDown" ? 1 : -1); }
    else if (e.key === "Escape") closeList();
    else if (e.key === "Enter") {
      const picked = list()?.querySelector("[aria-selected=true]");
      if (picked) { e.preventDefault(); choose(picked); }
      else document.querySelector("#variant-form input[name=variant][value=subscriber]").checked = true;
    }
  });
  document.addEventListener("mousedown", e => {
    const li = e.target.closest("#sub-list [role=option]");
    if (li) { e.preventDefault(); choose(li); }
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
  observeFrames();
  fitAll();

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
