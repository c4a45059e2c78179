"""Short paragraph rhythm: a long paragraph of the author's prose is split at sentence ends.

A summary written as one 150-word block reads as a wall on a phone. This markdown-it core rule
splits every top-level paragraph of more than `LONG` words into paragraphs of at least
`TARGET` words, cutting only between sentences (after ., ! or ?, before a capital letter or an
opening quote or parenthesis, never after an abbreviation such as "et al." or an initial) and
only outside emphasis and links. Paragraphs in lists, quotes and shorter ones are untouched.
It runs on the token stream, so the HTML and the plain-text part get the same paragraphs.
"""

from __future__ import annotations

import re

from markdown_it.rules_core import StateCore
from markdown_it.token import Token

LONG = 80  # words: a paragraph longer than this is split
TARGET = 40  # words: the least a resulting paragraph holds
MIN_LAST = 25  # words: the last paragraph is never shorter than this (it joins the one before)

_END = re.compile(r"(?<=[.!?])[)\"”’]?(\s+)(?=[(\"“‘]?[A-Z])")
_END_OF_TEXT = re.compile(r"[.!?][)\"”’]?$")
_STARTS_SENTENCE = re.compile(r"^[(\"“‘]?[A-Z]")
_ABBREVIATIONS = {"al", "e.g", "i.e", "cf", "vs", "dr", "prof", "fig", "no", "approx", "st", "mr", "mrs",
                  "ms", "ca", "resp", "ed", "eds", "vol", "pp", "p", "ch", "sec", "ref", "etc", "jr", "sr"}
_DEPTH = {"em_open": 1, "strong_open": 1, "link_open": 1, "s_open": 1,
          "em_close": -1, "strong_close": -1, "link_close": -1, "s_close": -1}


def split_long_paragraphs(state: StateCore) -> None:
    """markdown-it core rule (push it after "inline"): rewrite `state.tokens` in place."""
    out: list[Token] = []
    tokens = state.tokens
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if (tok.type == "paragraph_open" and tok.level == 0 and not tok.hidden and i + 2 < len(tokens)
                and tokens[i + 1].type == "inline" and len(tokens[i + 1].content.split()) > LONG):
            out += _split(tok, tokens[i + 1], tokens[i + 2])
            i += 3
            continue
        out.append(tok)
        i += 1
    state.tokens = out


def _split(open_: Token, inline: Token, close: Token) -> list[Token]:
    pieces = _sentences(inline.children or [])
    groups: list[list[Token]] = [[]]
    words = 0
    for n, (gap, sentence) in enumerate(pieces):
        if groups[-1] and gap is not None:
            groups[-1].append(gap)  # the space or line break between two sentences kept together
        groups[-1] += sentence
        words += _words(sentence)
        rest = sum(_words(s) for _, s in pieces[n + 1:])
        if words >= TARGET and rest >= MIN_LAST:
            groups.append([])
            words = 0
    out: list[Token] = []
    for children in (g for g in groups if g):
        text = "".join(c.content if c.type in ("text", "code_inline") else " " if c.type.endswith("break")
                       else "" for c in children)
        para = Token("inline", "", 0, content=text, children=children, map=inline.map)
        out += [_copy(open_), para, _copy(close)]
    return out


def _copy(tok: Token) -> Token:
    return Token(tok.type, tok.tag, tok.nesting, attrs=dict(tok.attrs), map=tok.map, level=tok.level,
                 block=True, markup=tok.markup)


def _words(children: list[Token]) -> int:
    return sum(len(c.content.split()) for c in children if c.type == "text")


def _sentences(children: list[Token]) -> list[tuple[Token | None, list[Token]]]:
    """The inline children cut into sentences, each with the gap (a space or a line break)
    that came before it: kept when two sentences stay in one paragraph, dropped at a cut."""
    out: list[tuple[Token | None, list[Token]]] = [(None, [])]
    depth = 0
    for k, c in enumerate(children):
        depth += _DEPTH.get(c.type, 0)
        last = out[-1][1]
        if c.type == "text" and depth == 0:
            rest, start = c.content, 0
            for m in _END.finditer(rest):
                if _abbreviation(rest[:m.start(1)]):
                    continue
                out[-1][1].append(_text(rest[start:m.start(1)], c))
                out.append((_text(m.group(1), c), []))
                start = m.end()
            out[-1][1].append(_text(rest[start:], c))
            continue
        if (c.type == "softbreak" and depth == 0 and last and last[-1].type == "text"
                and _END_OF_TEXT.search(last[-1].content) and not _abbreviation(last[-1].content)
                and k + 1 < len(children) and children[k + 1].type == "text"
                and _STARTS_SENTENCE.match(children[k + 1].content)):
            out.append((c, []))
            continue
        last.append(c)
    return [(gap, s) for gap, s in out if s]


def _abbreviation(text: str) -> bool:
    """Whether `text`, which ends with a full stop, ends with an abbreviation or an initial."""
    m = re.search(r"(\S+)\.[)\"”’]?$", text)
    if not m:
        return False
    word = m.group(1).lstrip("(\"“‘").lower()
    return word in _ABBREVIATIONS or (len(word) == 1 and word.isalpha())


def _text(content: str, like: Token) -> Token:
    return Token("text", "", 0, content=content, level=like.level)
