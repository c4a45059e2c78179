"""The finished e-mail in a real headless Chromium: axe-core over every variant of every example
issue and over the signup confirmation, light and dark; the dark palette (prefers-color-scheme
and Outlook.com's [data-ogsc]) with its contrast measured; the "Read the paper" and "Confirm my
subscription" touch targets; no sideways scrolling on a phone.

axe-core is the npm package pinned in .ci/npm/package-lock.json, installed by `.ci/run`; the
tests read it from disk (no network).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from newsletter.content.variants import all_selections
from newsletter.mail.compose import SAMPLE_SID, Composer, now_header, parts
from newsletter.mail.confirmation import BUTTON
from newsletter.mail.message import Recipient

from ..web.conftest import CHROMIUM, CHROMIUM_ARGS
from .test_confirmation import URL, confirmation

AXE = Path(__file__).resolve().parents[2] / ".ci" / "npm" / "node_modules" / "axe-core" / "axe.min.js"
READER = Recipient("reader@example.org", "Sample Reader", None, SAMPLE_SID)

# Every visible piece of text: its colour against the first opaque background behind it.
CONTRAST_JS = """() => {
  const rgb = s => (s.match(/[\\d.]+/g) || []).map(Number);
  const lum = c => { const [r, g, b] = c.slice(0, 3).map(v => { v /= 255;
      return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
  const ratio = (a, b) => { const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p);
    return (x + 0.05) / (y + 0.05); };
  const background = el => {
    for (let e = el; e; e = e.parentElement) {
      const c = rgb(getComputedStyle(e).backgroundColor);
      if (c.length === 3 || (c.length === 4 && c[3] > 0)) return c;
    }
    return [255, 255, 255];
  };
  const out = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const el = n.parentElement;
    if (!n.textContent.replace(/[\\s\\u200c\\u00a0]/g, '') || !el.checkVisibility({opacityProperty: true,
        visibilityProperty: true})) continue;
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.height === 0) continue;
    const fg = rgb(getComputedStyle(el).color), bg = background(el);
    out.push({text: n.textContent.trim().slice(0, 40), ratio: ratio(fg, bg)});
  }
  return {texts: out, page: lum(background(document.body.firstElementChild || document.body))};
}"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is missing (install Debian's chromium package for the browser tests)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


def variants(composer: Composer) -> Iterator[tuple[str, tuple[int, ...], str]]:
    """(issue month, selection, finished HTML part) for every variant of every example issue."""
    date = now_header()
    for path in sorted(Path("issues").glob("*.yaml")):
        issue = composer.issue(path)
        for sel in all_selections(issue):
            raw = composer.compile(issue, sel, campaign=issue.month, date=date).build(READER)
            yield issue.month, sel, parts(raw)[0]


def _page(browser: Any, scheme: str, width: int = 800) -> Any:
    context = browser.new_context(viewport={"width": width, "height": 900}, color_scheme=scheme)
    context.route("**/*", lambda route: route.abort())  # nothing leaves the machine
    return context.new_page()


def axe_serious(page: Any) -> list[str]:
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: run `bash .ci/run` (or `npm ci --prefix .ci/npm`) to install axe-core")
    page.add_script_tag(content=AXE.read_text(encoding="utf-8"))
    result = page.evaluate("async () => (await axe.run(document, {resultTypes: ['violations']})).violations")
    return [f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:3]}"
            for v in result if v["impact"] in ("serious", "critical")]


def test_axe_finds_nothing_serious_in_any_variant(browser: Any, composer: Composer) -> None:
    seen = 0
    for scheme in ("light", "dark"):
        page = _page(browser, scheme)
        for month, sel, html in variants(composer):
            page.set_content(html)
            assert axe_serious(page) == [], (month, sel, scheme)
            seen += 1
        for name, topics in (("Ana Researcher", frozenset({"alliance", "training"})), ("", None)):
            page.set_content(confirmation(composer, name, topics)[0])
            assert axe_serious(page) == [], ("confirmation", name, scheme)
            seen += 1
        page.context.close()
    assert seen == 2 * (7 + 7 + 3 + 2)


@pytest.mark.parametrize("mode", ["prefers-color-scheme", "outlook.com"])
def test_dark_palette_is_dark_and_readable(browser: Any, composer: Composer, mode: str) -> None:
    page = _page(browser, "dark" if mode == "prefers-color-scheme" else "light")
    issue = composer.issue("issues/2020-12.yaml")
    for sel in [(0, 1, 2), (1,)]:
        raw = composer.compile(issue, sel, campaign=issue.month, date=now_header()).build(READER)
        page.set_content(parts(raw)[0])
        if mode == "outlook.com":  # Outlook.com marks the elements its dark mode recoloured
            page.evaluate("() => ['data-ogsc', 'data-ogsb'].forEach(a => document.body.setAttribute(a, ''))")
        found = page.evaluate(CONTRAST_JS)
        assert found["page"] < 0.02, "the page behind the message is dark"
        assert len(found["texts"]) > 20
        low = [t for t in found["texts"] if t["ratio"] < 4.5]
        assert low == [], low
        cards = page.evaluate("() => [...document.querySelectorAll('.nl-card, .article')].map("
                              "e => getComputedStyle(e).backgroundColor)")
        assert cards and set(cards) == {"rgb(22, 27, 34)"}  # every card dark, none left white
    page.context.close()


def test_light_palette_contrast(browser: Any, composer: Composer) -> None:
    page = _page(browser, "light")
    issue = composer.issue("issues/2020-12.yaml")
    raw = composer.compile(issue, (0, 2), campaign=issue.month, date=now_header()).build(READER)
    page.set_content(parts(raw)[0])
    found = page.evaluate(CONTRAST_JS)
    assert found["page"] > 0.8
    assert [t for t in found["texts"] if t["ratio"] < 4.5] == []
    page.context.close()


@pytest.mark.parametrize("width", [320, 375, 800])
def test_read_the_paper_is_a_real_touch_target(browser: Any, composer: Composer, width: int) -> None:
    page = _page(browser, "light", width)
    issue = composer.issue("issues/2020-12.yaml")
    raw = composer.compile(issue, None, campaign=issue.month, date=now_header()).build(READER)
    page.set_content(parts(raw)[0])
    boxes = page.evaluate("() => [...document.querySelectorAll('a')].filter(a => a.textContent"
                          ".includes('Read the paper')).map(a => [a.href, a.getBoundingClientRect().width, "
                          "a.getBoundingClientRect().height])")
    assert [b[0] for b in boxes] == [a.link for a in issue.articles]
    assert all(w >= 44 and h >= 44 for _, w, h in boxes), boxes
    scroll = page.evaluate("() => document.documentElement.scrollWidth")
    assert scroll <= width, "no sideways scrolling"
    page.context.close()


@pytest.mark.parametrize("mode", ["light", "prefers-color-scheme", "outlook.com"])
def test_confirmation_palette_and_button(browser: Any, composer: Composer, mode: str) -> None:
    """The signup confirmation: dark in both dark modes with every text ≥ 4.5:1 (light: a light
    page, same contrast), its one card dark; "Confirm my subscription" a ≥ 44 px target linking to
    the confirmation URL, and no sideways scrolling, from 320 px up."""
    html, _ = confirmation(composer)
    for width in (320, 375, 800):
        page = _page(browser, "dark" if mode == "prefers-color-scheme" else "light", width)
        page.set_content(html)
        if mode == "outlook.com":
            page.evaluate("() => ['data-ogsc', 'data-ogsb'].forEach(a => document.body.setAttribute(a, ''))")
        found = page.evaluate(CONTRAST_JS)
        assert (found["page"] > 0.8) if mode == "light" else (found["page"] < 0.02)
        assert len(found["texts"]) >= 8
        low = [t for t in found["texts"] if t["ratio"] < 4.5]
        assert low == [], (width, low)
        cards = page.evaluate("() => [...document.querySelectorAll('.nl-card')].map("
                              "e => getComputedStyle(e).backgroundColor)")
        assert cards == (["rgb(255, 255, 255)"] if mode == "light" else ["rgb(22, 27, 34)"])
        boxes = page.evaluate("() => [...document.querySelectorAll('a')].filter(a => a.textContent.trim() === "
                              f"{BUTTON!r}).map(a => [a.href, a.getBoundingClientRect().width, "
                              "a.getBoundingClientRect().height])")
        assert [b[0] for b in boxes] == [URL] and all(w >= 44 and h >= 44 for _, w, h in boxes), boxes
        assert page.evaluate("() => document.documentElement.scrollWidth") <= width, "no sideways scrolling"
        page.context.close()


def test_axe_is_really_running(browser: Any) -> None:
    """The harness itself: a page with a planted fault is reported (else 0 would prove nothing)."""
    page = _page(browser, "light")
    page.set_content('<html lang="en"><head><title>t</title></head><body><main><h1>x</h1>'
                     '<p style="color:#bbb;background:#fff">too pale to read</p></main></body></html>')
    assert [v.split(" ")[0] for v in axe_serious(page)] == ["color-contrast"]
    page.context.close()
