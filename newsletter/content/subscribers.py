"""The subscriber list (YAML): addresses validated, IDN domains as A-labels, duplicates merged."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from . import schema
from .addresses import AddressError, address_key, normalize_address
from .config import Settings
from .headers import HeaderValueError, check_header_value, single_spaced
from .textfile import display_path
from .yamltree import Reader, YNode

MAX_LIST_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True, slots=True)  # a list may hold 100,000 of them: kept small
class Subscriber:
    email: str  # local@A-label-domain
    name: str
    topics: frozenset[str] | None  # None = every topic
    line: int = 0
    smtputf8: bool = False

    @property
    def key(self) -> str:
        return address_key(self.email)


def load_subscribers(path: Path | str, settings: Settings) -> tuple[list[Subscriber], Reader]:
    """Every valid subscriber, in file order; raises InputError if the file has any error."""
    subs, r = read_subscribers(path, settings)
    r.raise_if_errors()
    return subs, r


def read_subscribers(path: Path | str, settings: Settings) -> tuple[list[Subscriber], Reader]:
    path = Path(path)
    r = Reader(display_path(path))
    by_key: dict[str, Subscriber] = {}
    sets: dict[frozenset[str], frozenset[str]] = {}  # readers share topic sets: one object each
    count = 0

    def take(item: YNode) -> None:
        nonlocal count
        i, count = count, count + 1
        sub = _subscriber(r, item, f"[{i}]", settings, sets)
        if sub is None:
            return
        key = sub.key
        if key == sub.email:  # the usual lower-case address: no second string
            key = sub.email
        first = by_key.get(key)
        if first is None:
            by_key[key] = sub
            return
        merged = None if first.topics is None or sub.topics is None else first.topics | sub.topics
        r.warn(sub.line, 1, f"[{i}].email", f"'{sub.email}' duplicates '{first.email}' on line "
                                             f"{first.line}; merged into one subscriber")
        by_key[key] = Subscriber(first.email, first.name or sub.name, merged, first.line,
                                     first.smtputf8)

    node = r.load(MAX_LIST_BYTES, on_item=take)
    if node is None:
        if not r.problems:
            r.problem(1, 1, "", "the subscriber list is empty (expected a list of subscribers)")
        return [], r
    if node.kind != "seq":
        r.problem(node.line, node.col, "", f"expected a list of subscribers, got {node.describe()}")
        return [], r
    return list(by_key.values()), r


def _subscriber(r: Reader, node: YNode, path: str, settings: Settings,
                sets: dict[frozenset[str], frozenset[str]] | None = None) -> Subscriber | None:
    if node.kind != "map":
        r.problem(node.line, node.col, path, f"expected a subscriber mapping, got {node.describe()}")
        return None
    m = schema.mapping(r, node, path, ["email"], ["name", "topics"])
    if m is None:
        return None
    enode = m.get("email")
    email = schema.text(r, enode, f"{path}.email", single_line=True, max_len=320)
    addr, utf8 = None, False
    if email is not None and enode is not None:
        try:
            addr, utf8 = normalize_address(email)
        except AddressError as exc:
            r.problem(enode.line, enode.col, f"{path}.email", str(exc))
    name = ""
    if "name" in m:
        name = schema.text(r, m["name"], f"{path}.name", single_line=True, max_len=200,
                           required=False) or ""
        try:
            name = single_spaced(check_header_value(name, "the name"))
        except HeaderValueError as exc:
            r.problem(m["name"].line, m["name"].col, f"{path}.name", str(exc))
            name = ""
    topics = _topics(r, m.get("topics"), f"{path}.topics", settings)
    if addr is None or topics is False:
        return None
    if isinstance(topics, frozenset) and sets is not None:
        topics = sets.setdefault(topics, topics)
    return Subscriber(addr, name, topics if topics is not True else None, node.line, utf8)


def _topics(r: Reader, node: YNode | None, path: str,
            settings: Settings) -> frozenset[str] | bool | None:
    """A topic set; True means every topic; False means an error was reported."""
    if node is None or node.kind == "null":
        return True
    if node.kind == "str" and str(node.value).strip().casefold() == "all":
        return True
    entries = schema.text_list(r, node, path)
    out: set[str] = set()
    ok = node.kind in ("seq", "str")
    if node.kind == "seq" and isinstance(node.value, list) and len(entries) != len(node.value):
        ok = False  # text_list has reported the entries that are not text
    for i, (name, item) in enumerate(entries):
        slug = settings.taxonomy.lookup(name)
        if slug is None:
            r.problem(item.line, item.col, f"{path}[{i}]",
                      f"unknown topic '{name}'{settings.taxonomy.suggest(name)}")
            ok = False
        else:
            out.add(slug)
    if ok and not out:
        r.problem(node.line, node.col, path, "no topics given (leave the key out or write 'all' "
                                             "for every topic)")
        ok = False
    return frozenset(out) if ok else False
