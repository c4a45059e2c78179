"""HTML of the preview pages (jinja2, autoescaped). Works without JavaScript; preview.js adds
live reload, tabs without a round trip and an instant variant picker on top.

Regions marked `data-swap` are replaced whole on a live update; iframes marked `data-frame`
only get a new `srcdoc` when the message changed, so they keep their place and do not blink.
"""

from __future__ import annotations

import email
import email.policy
import re
from typing import Any
from urllib.parse import quote, urlencode

import jinja2

from .problems import Located
from .views import IndexEntry, IssueView

_HEAD = re.compile(r"<head\b[^>]*>", re.IGNORECASE)

_BASE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ title }} · newsletter preview</title>
<link rel="stylesheet" href="/static/preview.css">
<script src="/static/preview.js" defer></script>
</head>
<body data-page="{{ page }}" data-version="{{ version }}">
<header class="top"><a class="brand" href="/">newsletter preview</a>
{% block crumbs %}{% endblock %}
<span class="live" id="live" title="updates by itself when files change">live</span></header>
<main>{% block main %}{% endblock %}</main>
</body></html>
"""

_MACROS = """
{% macro problem_list(items) %}
{% for p in items %}<div class="problem {{ p.severity }}">
<p>{% if p.where %}<code class="where">{{ p.where }}</code> {% endif %}{{ p.message }}</p>
{% if p.quote is not none %}<pre class="quote"><span class="ln">{{ p.line }} │ </span>{{ p.quote }}
<span class="ln">{{ " " * (p.line|string|length) }} │ </span><span class="caret">{{ " " * (p.col - 1) }}^</span></pre>
{% endif %}</div>
{% endfor %}
{% endmacro %}
{% macro outbox_list(box) %}
<h2>Outbox <small title="{{ box.path }}">{{ box.path.name }}/ · {{ box.total }}</small></h2>
{% if box.error %}<p class="bad">{{ box.error }}</p>{% endif %}
{% if box.items %}<ol class="outbox">
{% for m in box.items %}<li><a href="/outbox/{{ m.key|urlencode }}">{{ m.subject }}</a>
<span class="meta">{{ m.to }} · {{ m.date }}</span></li>
{% endfor %}</ol>
{% if box.total > box.items|length %}<p class="hint">and {{ box.total - box.items|length }} older</p>{% endif %}
{% else %}<p class="hint">Empty. “Send test” with the default transport puts a copy here.</p>{% endif %}
{% endmacro %}
"""

_INDEX = """{% extends "base" %}{% from "macros" import problem_list %}
{% block main %}
<h1>Issues</h1>
<div id="index-live" data-swap>
{% if problems %}<section class="problems-box">{{ problem_list(problems) }}</section>{% endif %}
{% if not entries %}<p class="hint">No issue files in issues/ yet.</p>{% endif %}
<ul class="issues">
{% for e in entries %}<li><a href="/issue/{{ e.name }}">
<span class="month">{{ e.label }}</span>
{% if not e.checked %}<span class="status warn">not checked</span>
{% elif e.errors or e.failed_checks %}<span class="status bad">{{ e.errors + e.failed_checks }} problem{{ "s" if e.errors + e.failed_checks != 1 }}</span>
{% else %}<span class="status ok" title="no problems">✓</span>{% endif %}
{% if e.warnings %}<span class="status warn">{{ e.warnings }} warning{{ "s" if e.warnings != 1 }}</span>{% endif %}
<span class="file">issues/{{ e.name }}.yaml</span>
{% if e.titles %}<ul class="titles">{% for t in e.titles %}<li>{{ t }}</li>{% endfor %}</ul>{% endif %}
</a></li>
{% endfor %}</ul>
</div>
{% endblock %}"""

_ISSUE = """{% extends "base" %}{% from "macros" import problem_list, outbox_list %}
{% block crumbs %}<span class="crumb">/ {{ v.issue.month_label if v.issue else v.name }}</span>{% endblock %}
{% block main %}
<div id="summary" class="summary" data-swap>
{% if v.raw %}<p><b>{{ subject }}</b></p><p class="meta">From {{ sender }} · to {{ v.reader }}
 · {{ v.issue.articles|length }} article(s) in the issue, {{ nsel }} in this copy</p>{% endif %}
</div>
<div id="problems" data-swap>
{% if v.problems %}<section class="problems-box"><h2>{{ v.problems|length }} problem{{ "s" if v.problems|length != 1 }}: the e-mail cannot be built</h2>{{ problem_list(v.problems) }}</section>{% endif %}
{% if v.warnings %}<section class="problems-box warn-box">{{ problem_list(v.warnings) }}</section>{% endif %}
{% if v.subscriber_problems %}<section class="problems-box warn-box"><h2>The subscriber list has {{ v.subscriber_problems|length }} problem{{ "s" if v.subscriber_problems|length != 1 }} (only “as subscriber” is affected)</h2>{{ problem_list(v.subscriber_problems) }}</section>{% endif %}
</div>
<form id="variant-form" class="variant" method="get" action="/issue/{{ v.name }}" data-swap{{ " hidden" if not v.issue }}>
<span class="label">Show</span>
<label class="choice"><input type="radio" name="variant" value="all"{{ " checked" if v.variant.kind == "all" }}> everything</label>
<span class="choice"><label><input type="radio" name="variant" value="topics"{{ " checked" if v.variant.kind == "topics" }}> topics:</label>
{% for slug, label in v.topic_choices %}<label class="chip"><input type="checkbox" name="topic" value="{{ slug }}"{{ " checked" if slug in v.variant.topics }}> {{ label }}</label>
{% endfor %}</span>
<span class="choice"><label><input type="radio" name="variant" value="subscriber"{{ " checked" if v.variant.kind == "subscriber" }}> as subscriber</label>
<select name="sub" aria-label="subscriber"><option value="">choose…</option>
{% for s in v.subscribers %}<option value="{{ s.email }}"{{ " selected" if s.email == v.variant.subscriber or s.key == v.variant.subscriber|lower }}>{{ s.name or s.email }} &lt;{{ s.email }}&gt; · {{ "all topics" if s.topics is none else (s.topics|length|string) + " topic(s)" }}</option>
{% endfor %}</select></span>
<input type="hidden" name="tab" value="{{ tab }}"><input type="hidden" name="view" value="{{ view }}">
<button type="submit" class="nojs">Show</button>
</form>
<div id="notice" data-swap>{% if v.notice %}<p class="notice">{{ v.notice }}</p>{% endif %}</div>
<div class="layout">
<section id="viewer" class="viewer" data-tab="{{ tab }}" data-view="{{ view }}" data-toggle{{ " hidden" if not v.raw }}>
<nav class="tabs">
{% for key, label in [("email", "E-mail"), ("text", "Plain text"), ("source", "Headers & .eml")] %}<a href="{{ self_url(tab=key) }}" data-tab="{{ key }}" class="tab">{{ label }}</a>
{% endfor %}<span class="spacer"></span>
{% for key, label in [("both", "Both"), ("desktop", "Desktop 800"), ("phone", "Phone 375")] %}<a href="{{ self_url(view=key) }}" data-view="{{ key }}" class="tab small">{{ label }}</a>
{% endfor %}</nav>
<div class="panel panel-email"><div class="frames">
<figure class="frame desktop"><figcaption>Desktop · 800 px</figcaption>
<iframe id="frame-desktop" title="e-mail at desktop width" data-frame sandbox="allow-same-origin allow-popups allow-popups-to-escape-sandbox" srcdoc="{{ frame_html }}"></iframe></figure>
<figure class="frame phone"><figcaption>Phone · 375 px</figcaption>
<iframe id="frame-phone" title="e-mail at phone width" data-frame sandbox="allow-same-origin allow-popups allow-popups-to-escape-sandbox" srcdoc="{{ frame_html }}"></iframe></figure>
</div></div>
<div id="text-panel" class="panel panel-text" data-swap><pre class="plain">{{ v.text }}</pre></div>
<div id="source-panel" class="panel panel-source" data-swap>
<p><a class="button" id="download-eml" href="/issue/{{ v.name }}/eml?{{ query }}" download="{{ v.filename }}">Download {{ v.filename }}</a>
<a href="/issue/{{ v.name }}/html?{{ query }}" target="_blank" rel="noopener">HTML part in a new tab</a></p>
<h3>Headers</h3><pre class="headers">{{ v.headers }}</pre>
<h3>Whole message <small>{{ lines|length }} lines, {{ v.raw|length }} bytes</small></h3>
<pre class="source">{% for line in lines %}<span id="eml-L{{ loop.index }}"><i>{{ loop.index }}</i>{{ line }}
</span>{% endfor %}</pre>
</div>
</section>
<aside class="side">
<section class="card"><h2>Checks</h2><div id="checks" data-swap>
{% if v.checks %}<ul class="checks">
{% for c in v.checks %}<li class="{{ 'ok' if c.ok else 'bad' }}"><span class="mark">{{ "✓" if c.ok else "✗" }}</span>
<b>{{ c.name }}</b> {{ c.message }}{% if c.where %} <span class="where">{% if c.where.startswith("eml line ") %}<a href="{{ self_url(tab='source') }}#eml-L{{ c.where[9:] }}" data-tab="source">{{ c.where }}</a>{% else %}{{ c.where }}{% endif %}</span>{% endif %}</li>
{% endfor %}</ul>
{% else %}<p class="hint">No message to check.</p>{% endif %}
</div>
<p class="hint" id="combinations" data-lazy="/issue/{{ v.name }}/combinations"><a href="/issue/{{ v.name }}/combinations">Check every combination of articles</a></p>
</section>
<section class="card"><h2>Send test</h2>
<form id="send-form" method="post" action="/issue/{{ v.name }}/send-test" data-swap>
{% for key, value in v.variant.query() %}<input type="hidden" name="{{ key }}" value="{{ value }}">{% endfor %}
<label>To <input type="email" name="to" value="{{ v.send.default_to }}" required></label>
<button type="submit" id="send-button"{{ " disabled" if not v.send.enabled }}>Send test</button>
<p class="hint" id="send-reason">{{ v.send.reason }}</p>
</form>
<p id="send-status" class="status-line" aria-live="polite">{{ sent }}</p>
</section>
<section id="outbox" class="card" data-swap>{% if v.outbox %}{{ outbox_list(v.outbox) }}{% endif %}</section>
</aside>
</div>
{% endblock %}"""

_MESSAGE = """{% extends "base" %}
{% block crumbs %}<span class="crumb">/ outbox / {{ subject }}</span>{% endblock %}
{% block main %}
<h1>{{ subject }}</h1>
<p><a class="button" href="/outbox/{{ key|urlencode }}/eml" download="{{ key }}.eml">Download .eml</a></p>
<div class="layout"><div class="frames">
<figure class="frame desktop"><figcaption>HTML part</figcaption>
<iframe id="frame-message" title="HTML part" sandbox="allow-same-origin allow-popups allow-popups-to-escape-sandbox" srcdoc="{{ frame_html }}"></iframe></figure></div>
<aside class="side"><section class="card"><h2>Headers</h2><pre class="headers">{{ headers }}</pre></section></aside></div>
<h2>Plain text</h2><pre class="plain">{{ text }}</pre>
{% endblock %}"""

_MISSING = """{% extends "base" %}{% from "macros" import problem_list %}
{% block main %}<h1>Not found</h1><div id="index-live" data-swap><p>{{ message }}</p>
<p><a href="/">All issues</a></p></div>{% endblock %}"""

_ENV = jinja2.Environment(
    loader=jinja2.DictLoader({"base": _BASE, "macros": _MACROS, "index": _INDEX, "issue": _ISSUE,
                              "message": _MESSAGE, "missing": _MISSING}),
    autoescape=True, trim_blocks=True, lstrip_blocks=True, undefined=jinja2.StrictUndefined)
_ENV.filters["urlencode"] = lambda s: quote(str(s), safe="")


def frame_document(html: str) -> str:
    """The message HTML for a sandboxed frame: links open a new tab instead of the frame."""
    base = '<base target="_blank">'
    m = _HEAD.search(html)
    return html[:m.end()] + base + html[m.end():] if m else base + html


def _render(name: str, **context: Any) -> str:
    return _ENV.get_template(name).render(**context)


def index_page(entries: list[IndexEntry], problems: list[Located], version: str) -> str:
    return _render("index", title="Issues", page="index", version=version, entries=entries,
                   problems=problems)


def issue_page(v: IssueView, *, tab: str, view: str, sent: str = "") -> str:
    query = urlencode(v.variant.query())

    def self_url(**change: str) -> str:
        params = {"tab": tab, "view": view} | change
        return f"/issue/{v.name}?{urlencode(v.variant.query() + list(params.items()))}"

    lines = v.raw.decode("utf-8", "replace").split("\r\n") if v.raw else []
    if lines and lines[-1] == "":
        lines.pop()
    title = v.issue.month_label if v.issue else v.name
    return _render("issue", title=title, page="issue", version=v.version, v=v, tab=tab, view=view,
                   query=query, self_url=self_url, lines=lines, sent=sent,
                   subject=_subject(v.raw), sender=_header(v.raw, "From"), nsel=len(v.selection),
                   frame_html=frame_document(v.html) if v.html else "")


def message_page(key: str, raw: bytes, html: str, text: str, version: str) -> str:
    headers = raw.split(b"\r\n\r\n", 1)[0].decode("utf-8", "replace").replace("\r\n", "\n")
    return _render("message", title=_subject(raw), page="message", version=version, key=key,
                   subject=_subject(raw), headers=headers, text=text,
                   frame_html=frame_document(html) if html else "")


def missing_page(message: str, version: str) -> str:
    return _render("missing", title="Not found", page="missing", version=version, message=message)


def _header(raw: bytes, name: str) -> str:
    """One header, decoded, as a mail client shows it."""
    if not raw:
        return ""
    head = email.message_from_bytes(raw.split(b"\r\n\r\n", 1)[0] + b"\r\n\r\n",
                                    policy=email.policy.default)
    return str(head.get(name, ""))


def _subject(raw: bytes) -> str:
    return _header(raw, "Subject")
