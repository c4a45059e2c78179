
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
