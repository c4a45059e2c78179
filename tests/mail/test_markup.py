"""markup: the supported Markdown subset in both parts (one row per construct), the plain-text
structure (issue 14 item 5) and the wrapper."""

from __future__ import annotations

import pytest

from newsletter.content.prose import problems
from newsletter.mail.markup import Notes, References, notes_html, notes_text, to_html, to_plain, to_text
from newsletter.mail.plaintext import wrap

IMG = ('<img src="https://example.org/fig1.png" alt="Forest plot of the pooled effects" width="500" '
       'style="display:block;width:100%;max-width:500px;height:auto;border:0;margin:8px 0;">')
TH = "padding:4px 12px 4px 0;vertical-align:top;border-bottom:2px solid #bcccdc;font-weight:bold;"
TD = "padding:4px 12px 4px 0;vertical-align:top;border-bottom:1px solid #e4e7eb;"

# (construct, Markdown, HTML expected, text expected): the subset README documents, one row each
SUBSET = [
    ("paragraphs", "One.\n\nTwo.", "<p>One.</p>\n<p>Two.</p>", "One.\n\nTwo."),
    ("emphasis", "*small* and **large** effects", "<p><em>small</em> and <strong>large</strong> effects</p>",
     "small and large effects"),
    ("inline code", "fitted with `lme4`", "<p>fitted with <code>lme4</code></p>", "fitted with lme4"),
    ("link", "see [the trial](https://example.org/t)", '<p>see <a href="https://example.org/t">the trial</a></p>',
     "see the trial\u00a0[1]"),
    ("autolink", "<https://example.org/t>", '<p><a href="https://example.org/t">https://example.org/t</a></p>',
     "https://example.org/t"),
    ("bullet list", "- one\n- two", "<ul>\n<li>one</li>\n<li>two</li>\n</ul>", "- one\n- two"),
    ("numbered list", "3. three\n4. four", '<ol start="3">\n<li>three</li>\n<li>four</li>\n</ol>',
     "3. three\n4. four"),
    ("nested list", "- a\n  - b", "<ul>\n<li>a\n<ul>\n<li>b</li>\n</ul>\n</li>\n</ul>", "- a\n  - b"),
    ("item of two paragraphs", "1. First.\n\n   More.\n2. Next.",
     "<ol>\n<li>\n<p>First.</p>\n<p>More.</p>\n</li>\n<li>\n<p>Next.</p>\n</li>\n</ol>",
     "1. First.\n\n   More.\n\n2. Next."),
    ("blockquote", "> Said.\n>\n> Again.",
     ('<blockquote style="margin:0 0 12px 0;padding:0 0 0 14px;border-left:3px solid #bcccdc;">\n'
     "<p>Said.</p>\n<p>Again.</p>\n</blockquote>"),
     "> Said.\n>\n> Again."),
    ("hard line break", "a  \nb\\\nc", "<p>a<br />\nb<br />\nc</p>", "a\nb\nc"),
    ("no-break space", "p&nbsp;<&nbsp;.001", "<p>p\u00a0&lt;\u00a0.001</p>", "p\u00a0<\u00a0.001"),
    ("image", "![Forest plot of the pooled effects](https://example.org/fig1.png)", f"<p>{IMG}</p>",
     "[Figure: Forest plot of the pooled effects] https://example.org/fig1.png"),
    ("table", "| Group | n |\n|:--|--:|\n| CBT | 40 |",
     ('<table cellpadding="0" cellspacing="0" border="0" style="border-collapse:collapse;margin:0 0 12px 0;'
     'font-size:14px;line-height:1.4;">\n<thead>\n<tr>\n'
     f'<th scope="col" style="text-align:left;{TH}">Group</th>\n'
     f'<th scope="col" style="text-align:right;{TH}">n</th>\n</tr>\n</thead>\n<tbody>\n<tr>\n'
     f'<td style="text-align:left;{TD}">CBT</td>\n<td style="text-align:right;{TD}">40</td>\n'
     "</tr>\n</tbody>\n</table>"),
     "Group   n\n-----  --\nCBT    40"),
    ("footnote", "Large.[^1]\n\n[^1]: Pooled.", "<p>Large.<sup>1</sup></p>", "Large.¹"),
]


@pytest.mark.parametrize(("construct", "src", "html", "text"), SUBSET, ids=[row[0] for row in SUBSET])
def test_supported_subset(construct: str, src: str, html: str, text: str) -> None:
    assert problems(src) == []  # `check` accepts it
    notes = Notes()
    assert to_html(src, notes) == html
    text_notes = Notes()
    assert to_text(src, References(), text_notes) == text
    if construct == "footnote":
        assert notes_html(notes) == ('<p style="margin:12px 0 4px 0;font-size:13px;font-weight:bold;">Notes</p>'
                                     '<ol style="margin:0;padding-left:22px;font-size:13px;"><li>Pooled.</li></ol>')
        assert notes_text(text_notes.text) == "Notes:\n1. Pooled."


def test_notes_are_numbered_across_the_fields_of_an_article() -> None:
    notes, refs = Notes(), References()
    summary = to_text("A[^1] and B[^x].\n\n[^1]: one\n\n[^x]: two", refs, notes)
    implications = to_text("C.[^1]\n\n[^1]: three, see [it](https://example.org/n)", refs, notes)
    assert (summary, implications) == ("A¹ and B².", "C.³")
    assert notes_text(notes.text) == "Notes:\n1. one\n2. two\n3. three, see it\u00a0[1]"
    html = Notes()
    assert to_html("A[^1]\n\n[^1]: one", html) + to_html("C[^1]\n\n[^1]: two", html) == \
        "<p>A<sup>1</sup></p><p>C<sup>2</sup></p>"
    assert "<li>one</li><li>two</li>" in notes_html(html)
    assert to_text("Alone[^1]\n\n[^1]: its note", References()) == "Alone¹\n\nNotes:\n1. its note"


# -- issue 14, item 5: structure survives into the text part ------------------------------------

def test_list_item_paragraphs_stay_under_their_item() -> None:
    src = ("1. The first finding, which takes more than one line to say in full because it is long.\n\n"
           "   Its second paragraph, also long enough to need a second line of its own, indented.\n"
           "2. The second finding.\n\n- bullet\n\n  continued")
    assert to_text(src, References()) == (
        "1. The first finding, which takes more than one line to say in full\n"
        "   because it is long.\n\n"
        "   Its second paragraph, also long enough to need a second line of its\n"
        "   own, indented.\n\n"
        "2. The second finding.\n\n"
        "- bullet\n\n"
        "  continued")


def test_blockquote_marks_every_line_and_separates_paragraphs() -> None:
    src = ("> A participant said that the sessions were too short to talk about anything that mattered.\n"
           ">\n> A second paragraph of the quotation.")
    assert to_text(src, References()) == (
        "> A participant said that the sessions were too short to talk about\n"
        "> anything that mattered.\n"
        ">\n"
        "> A second paragraph of the quotation.")
    nested = to_text("- item\n\n  > quoted in an item\n  >\n  > twice", References())
    assert nested == "- item\n\n  > quoted in an item\n  >\n  > twice"


@pytest.mark.parametrize("src", ["Line one  \nLine two\\\nLine three", "Line one<br>"[:0] + "Line one\\\nLine two"])
def test_hard_line_breaks_are_kept(src: str) -> None:
    assert to_text(src, References()).split("\n")[:2] == ["Line one", "Line two"]


def test_links_are_numbered_in_reading_order() -> None:
    refs = References()
    first = to_text("[a](https://a.example.org) then [b](https://b.example.org)", refs)
    second = to_text("[b again](https://b.example.org) and [c](https://c.example.org)", refs)
    assert (first, second) == ("a\u00a0[1] then b\u00a0[2]", "b again\u00a0[2] and c\u00a0[3]")
    assert refs.urls == ["https://a.example.org", "https://b.example.org", "https://c.example.org"]


def test_a_url_that_does_not_fit_gets_a_line_of_its_own() -> None:
    url = "https://example.org/" + "a-very-long-path-segment/" * 4
    lines = to_text(f"See the preregistration at {url} before reading on.", References()).split("\n")
    assert lines == ["See the preregistration at", url, "before reading on."]
    refs = References()
    refs.number("https://example.org/short")
    refs.number(url)
    assert refs.lines() == ["[1] https://example.org/short", f"[2]\n{url}"]


@pytest.mark.parametrize("text", [
    "Physiological synchronization in the psychotherapy relationship, reconsidered",
    "IL-6 and TNF-α after 12\u00a0weeks: a meta-analysis of pre-registered randomised controlled trials",
    "https://example.org/a-path-with-many-hyphens-that-must-never-be-broken-anywhere-at-all",
])
def test_one_wrapper_breaks_only_at_ordinary_spaces(text: str) -> None:
    lines = wrap(text, 40, "Topics: ", "  ")
    assert " ".join(ln.strip() for ln in lines).replace("Topics: ", "").replace("Topics:", "").strip() == text
    assert all(len(ln) <= 40 or " " not in ln.strip() for ln in lines)


def test_plain_for_preheader() -> None:
    assert to_plain("Hello *world*,\nsee [this](https://example.org).") == "Hello world, see this."
    assert to_plain("p&nbsp;<&nbsp;.001[^1]\n\n[^1]: not in the preheader") == "p\u00a0<\u00a0.001¹"


def test_raw_html_is_text_and_bad_schemes_are_dropped_even_unchecked() -> None:
    html = to_html("<b>x</b> [ok](https://example.org) [no](javascript:alert(1)) [d](data:text/html,x)")
    assert "&lt;b&gt;x&lt;/b&gt;" in html and '<a href="https://example.org">ok</a>' in html
    assert 'href="javascript' not in html and 'href="data' not in html
    assert 'src="http:' not in to_html("![x](http://example.org/a.png) ![y](javascript:alert(1))")
