"""markup: Markdown → safe HTML and wrapped plain text with numbered references."""

from __future__ import annotations

from newsletter.mail.markup import References, to_html, to_plain, to_text


def test_raw_html_is_text_and_bad_schemes_are_dropped() -> None:
    html = to_html("<b>x</b> [ok](https://example.org) [no](javascript:alert(1)) [d](data:text/html,x)")
    assert "&lt;b&gt;x&lt;/b&gt;" in html and '<a href="https://example.org">ok</a>' in html
    assert 'href="javascript' not in html and 'href="data' not in html


def test_text_wraps_and_numbers_links() -> None:
    refs = References()
    text = to_text("A " + "word " * 30 + "[one](https://a.example.org) and [two](https://b.example.org)"
                   "\n\n- item [one again](https://a.example.org)\n- second", refs)
    assert all(len(line) <= 72 for line in text.splitlines())
    assert "one [1]" in text and "two [2]" in text and "one again [1]" in text
    assert refs.urls == ["https://a.example.org", "https://b.example.org"]
    assert "\n\n- item" in text and "\n- second" in text


def test_plain_for_preheader() -> None:
    assert to_plain("Hello *world*,\nsee [this](https://example.org).") == "Hello world, see this."
