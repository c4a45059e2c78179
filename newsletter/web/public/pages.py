"""The HTML of the public pages: small, self-contained, no script, no remote assets.

One inline stylesheet, allowed by its hash in the Content-Security-Policy. Forms post to the
page's own token (a relative URL), so the pages work under any path prefix of base_url.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import jinja2
from markupsafe import Markup

CSS = """
*{box-sizing:border-box}
html{color-scheme:light}
body{margin:0;font:1.0625rem/1.55 system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;
color:#1f2933;background:#eef1f4}
main{max-width:42rem;margin:0 auto;padding:1.25rem 1rem 1.75rem;background:#fff}
.list{margin:0;color:#3e4c59;font-size:.95rem}
h1{font-size:1.5rem;line-height:1.25;margin:.25rem 0 1rem}
h2{font-size:1.2rem;margin:2rem 0 .5rem}
a{color:#0b5cad;text-underline-offset:.15em}
fieldset{border:1px solid #7b8794;border-radius:6px;padding:.5rem 1rem 1rem;margin:0 0 1rem;min-width:0}
legend{font-weight:600;padding:0 .3rem}
.hint{margin:.25rem 0 .5rem;color:#3e4c59}
.topics{list-style:none;margin:0;padding:0}
.topics label{display:flex;gap:.65rem;align-items:flex-start;padding:.4rem 0;min-height:2.75rem;cursor:pointer}
input[type=checkbox]{width:1.3rem;height:1.3rem;margin:.15rem 0 0;flex:none;accent-color:#0b5cad}
button{font:inherit;font-weight:600;min-height:2.75rem;padding:.55rem 1.2rem;border-radius:6px;
border:2px solid #0b5cad;background:#0b5cad;color:#fff;cursor:pointer}
button:hover{background:#084a8c;border-color:#084a8c}
button.danger{background:#fff;color:#9b1c1c;border-color:#9b1c1c}
button.danger:hover{background:#fdeeee}
:focus-visible{outline:3px solid #1f2933;outline-offset:3px}
input[type=checkbox]:focus-visible{outline-offset:2px}
.notice,.error{padding:.75rem 1rem;margin:0 0 1rem;border-left:5px solid #0b5cad;background:#eaf2fb}
.error{border-color:#9b1c1c;background:#fdeeee}
footer{max-width:42rem;margin:0 auto;padding:1rem;color:#3e4c59;font-size:.875rem}
@media (min-width:38rem){.topics{columns:2;column-gap:2rem}.topics li{break-inside:avoid}}
@media (forced-colors:active){button{border-color:ButtonText}}
""".strip()

CSS_HASH = "sha256-" + base64.b64encode(hashlib.sha256(CSS.encode()).digest()).decode()
PAGE_CSP = (f"default-src 'none'; style-src '{CSS_HASH}'; form-action 'self'; "
            "frame-ancestors 'none'; base-uri 'none'")

_BASE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">
<meta name="referrer" content="no-referrer">
<title>{{ title }} – {{ list_name }}</title>
<style>{{ css }}</style>
</head>
<body>
<main>
<p class="list">{{ list_name }}</p>
<h1>{{ title }}</h1>
{% block body %}{% endblock %}
</main>
<footer>{{ postal_address }}</footer>
</body>
</html>
"""

_TEMPLATES = {
    "base.html": _BASE,
    "message.html": """{% extends "base.html" %}{% block body %}
{% for p in paragraphs %}<p{% if loop.first and role %} role="{{ role }}"{% endif %}>{{ p }}</p>
{% endfor %}{% endblock %}""",

    "confirm.html": """{% extends "base.html" %}{% block body %}
<p>Stop sending {{ list_name }} to <strong>{{ masked }}</strong>?</p>
<form method="post" action="{{ token }}">
<input type="hidden" name="List-Unsubscribe" value="One-Click">
<input type="hidden" name="via" value="page">
<button type="submit">Unsubscribe</button>
</form>
<p class="hint">Nothing changes until you press the button.</p>
{% endblock %}""",

    "preferences.html": """{% extends "base.html" %}{% block body %}
<p>Settings for <strong>{{ masked }}</strong>.</p>
{% if error %}<p class="error" role="alert" id="form-error">{{ error }}</p>{% endif %}
{% if state == "unsubscribed" %}<p class="notice">You are unsubscribed: nothing is sent to this
address. To receive the digest again, choose your topics and press “Subscribe again”.</p>
{% elif state == "blocked" %}<p class="notice">Delivery to this address is stopped because
earlier messages could not be delivered or were reported. To receive the digest again, please
write to {{ contact }}. You can still choose your topics here.</p>{% endif %}
<form method="post" action="{{ token }}">
<fieldset{% if error %} aria-describedby="form-error"{% endif %}>
<legend>Topics you want to receive</legend>
<p class="hint" id="topics-hint">Each month you get the articles tagged with any topic you tick.</p>
<ul class="topics">
{% for slug, label in topics %}<li><label for="t-{{ slug }}"><input type="checkbox" name="topic"
 id="t-{{ slug }}" value="{{ slug }}"{% if slug in chosen %} checked{% endif %}> <span>{{ label }}</span></label></li>
{% endfor %}</ul>
</fieldset>
{% if state == "unsubscribed" %}<button type="submit" name="action" value="resubscribe">Subscribe again with these topics</button>
{% else %}<button type="submit" name="action" value="save">Save topics</button>{% endif %}
</form>
{% if state == "subscribed" %}
<h2 id="leave">Unsubscribe</h2>
<form method="post" action="{{ token }}" aria-labelledby="leave">
<p>Stop receiving {{ list_name }} altogether.</p>
<button type="submit" class="danger" name="action" value="unsubscribe">Unsubscribe from everything</button>
</form>
{% endif %}{% endblock %}""",

    "saved.html": """{% extends "base.html" %}{% block body %}
<p role="status">{{ summary }}</p>
{% if chosen_labels %}<ul>{% for label in chosen_labels %}<li>{{ label }}</li>{% endfor %}</ul>{% endif %}
{% if note %}<p>{{ note }}</p>{% endif %}
<p><a href="{{ token }}">Back to your topics</a></p>
{% endblock %}""",
}

_env = jinja2.Environment(loader=jinja2.DictLoader(_TEMPLATES), autoescape=True,
                          undefined=jinja2.StrictUndefined)


def render(name: str, **context: Any) -> str:
    return _env.get_template(name).render(css=Markup(CSS), **context)


def mask_email(email: str) -> str:
    """Enough of the address to recognise it, not enough to harvest it: a•••@example.org."""
    local, _, domain = email.rpartition("@")
    return f"{local[:1]}•••@{domain}"
