"""The safe YAML reader: located nodes, and every refusal with its line and column."""

from __future__ import annotations

import inspect
import re
import sys
import time
import tracemalloc
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from newsletter.content import yamltree
from newsletter.content.yamltree import MAX_DEPTH, Reader, YNode
from newsletter.errors import InputError

QUOTE = "; if this is text, put the whole value in quotes (\"...\", or a '|' block for several lines)"

PACKAGE = Path(__file__).resolve().parent.parent.parent / "newsletter"


def parse(text: str) -> tuple[YNode | None, list[str]]:
    r = Reader("f.yaml")
    node = r.parse(text)
    return node, [str(p) for p in r.problems]


def refused(text: str) -> list[str]:
    node, problems = parse(text)
    assert node is None
    return problems


# --- what is accepted, with locations and kinds --------------------------------------------

def test_tree_with_locations() -> None:
    node, problems = parse("title: Hello\nlist:\n  - one\n  - {a: 1}\n")
    assert problems == []
    assert node is not None and node.kind == "map" and (node.line, node.col) == (1, 1)
    assert isinstance(node.value, dict)
    assert node.key_lines == {"title": (1, 1), "list": (2, 1)}
    title, items = node.value["title"], node.value["list"]
    assert (title.kind, title.value, title.line, title.col) == ("str", "Hello", 1, 8)
    assert items.kind == "seq" and (items.line, items.col) == (3, 3)
    assert isinstance(items.value, list)
    one, inner = items.value
    assert (one.value, one.line, one.col) == ("one", 3, 5)
    assert inner.kind == "map" and inner.key_lines == {"a": (4, 6)}


@pytest.mark.parametrize("scalar, kind", [
    ("text", "str"), ("'no'", "str"), ('"1.10"', "str"), ("|\n  block\n", "str"), (">\n  folded\n", "str"),
    ("!!str 12", "str"), ("no", "bool"), ("NO", "bool"), ("on", "bool"), ("Yes", "bool"),
    ("true", "bool"), ("12", "int"), ("012", "int"), ("0x1F", "int"), ("1_000", "int"),
    ("1:30", "int"), ("1.10", "float"), (".inf", "float"), (".NaN", "float"),
    ("2024-03-01", "timestamp"), ("2024-03-01 10:00:00", "timestamp"), ("~", "null"),
    ("null", "null"), ("", "null"), ("2024-03", "str"), ("1e3", "str"),
])
def test_scalar_kinds_are_kept(scalar: str, kind: str) -> None:
    node, problems = parse(f"v: {scalar}\n")
    assert problems == []
    assert node is not None and isinstance(node.value, dict)
    assert node.value["v"].kind == kind


def test_keys_are_text_as_written() -> None:
    node, problems = parse("no: 1\n1.10: 2\n~: 3\n2020-01-01: 4\n")
    assert problems == []
    assert node is not None and isinstance(node.value, dict)
    assert list(node.value) == ["no", "1.10", "~", "2020-01-01"]


def test_describe() -> None:
    assert YNode("bool", "no", 1, 1).describe() == "a boolean ('no')"
    assert YNode("float", "1.10", 1, 1).describe() == "a number ('1.10')"
    assert YNode("null", "", 1, 1).describe() == "nothing"
    assert YNode("seq", [], 1, 1).describe() == "a list"


@pytest.mark.parametrize("text", ["", "# only\n# comments\n", "\n\n  \n"])
def test_empty_documents(text: str) -> None:
    assert parse(text) == (None, [])


@pytest.mark.parametrize("text", ["---\n", "~\n", "---\n...\n"])
def test_empty_document_with_markers_is_null(text: str) -> None:
    node, problems = parse(text)
    assert problems == [] and node is not None and node.kind == "null"


def test_one_explicit_document_is_fine() -> None:
    node, problems = parse("---\na: 1\n...\n")
    assert problems == [] and node is not None and node.kind == "map"


def test_tabs_inside_values_and_after_them_are_fine() -> None:
    node, problems = parse('a: "x\ty"\nb: 1\t# comment\n')
    assert problems == []
    assert node is not None and isinstance(node.value, dict) and node.value["a"].value == "x\ty"


# --- refusals ------------------------------------------------------------------------------

@pytest.mark.parametrize("text, problem", [
    ("a: &x 1\n", "f.yaml:1:4: YAML anchors (&x) are not allowed" + QUOTE),
    ("a: &x [1]\n", "f.yaml:1:4: YAML anchors (&x) are not allowed"),
    ("a: &x {b: 1}\n", "f.yaml:1:4: YAML anchors (&x) are not allowed"),
    ("a: 1\nb: *x\n", "f.yaml:2:4: YAML aliases (*name) are not allowed" + QUOTE),
    ("a: !!python/object/apply:os.system ['echo hi']\n",
     "f.yaml:1:4: unsupported YAML tag !!python/object/apply:os.system"),
    ("a: !!python/name:os.system\n", "f.yaml:1:4: unsupported YAML tag !!python/name:os.system"),
    ("a: !!python/object:__main__.X {}\n", "f.yaml:1:4: unsupported YAML tag !!python/object:__main__.X"),
    ("a: !!binary aGk=\n", "f.yaml:1:4: unsupported YAML tag !!binary"),
    ("a: !!set {x}\n", "f.yaml:1:4: unsupported YAML tag !!set"),
    ("a: !!omap [x: 1]\n", "f.yaml:1:4: unsupported YAML tag !!omap"),
    ("a: !local x\n", "f.yaml:1:4: unsupported YAML tag !local" + QUOTE),
    ("a: !<tag:example.com,2000:x> y\n", "f.yaml:1:4: unsupported YAML tag tag:example.com,2000:x"),
    ("<<: {a: 1}\n", "f.yaml:1:1: unsupported YAML tag !!merge"),
    ("a: 1\n---\nb: 2\n", "f.yaml:2:1: only one YAML document per file is allowed (remove '---')"),
    ("a:\n\tb: 1\n", ("f.yaml:2:1: YAML syntax error: a tab character; YAML is indented with spaces, "
                    "never tabs")),
    ("a: [1, 2\nb: 3\n", ("f.yaml:2:2: YAML syntax error: did not find expected ',' or ']' "
                        "(while parsing a flow sequence started on line 1, column 4)")),
    ('a: "abc\nb: 1\n', ("f.yaml:3:1: YAML syntax error: found unexpected end of stream "
                       "(while scanning a quoted scalar started on line 1, column 4)")),
    ("a: b: c\n", "f.yaml:1:5: YAML syntax error: mapping values are not allowed in this context"),
    ('a: "\\q"\n', ("f.yaml:1:5: YAML syntax error: found unknown escape character "
                  "(while parsing a quoted scalar started on line 1, column 4)")),
])
def test_refusals(text: str, problem: str) -> None:
    assert refused(text) == [problem]


def test_duplicate_keys_name_both_lines_and_the_path() -> None:
    text = ("title: A\n"
            "articles:\n"
            "  - title: x\n"
            "    topics: [a]\n"
            "    title: y\n"
            "  - {url: u, url: v}\n"
            "title: B\n")
    node, problems = parse(text)
    assert problems == [
        "f.yaml:5:5: articles[0].title: duplicate key 'title' (first defined on line 3)",
        "f.yaml:6:14: articles[1].url: duplicate key 'url' (first defined on line 6)",
        "f.yaml:7:1: title: duplicate key 'title' (first defined on line 1)",
    ]
    assert node is not None and isinstance(node.value, dict)
    assert node.value["title"].value == "A"  # the first one is kept, never silently the last


def test_same_key_spelled_differently_is_a_duplicate() -> None:
    _, problems = parse("a: 1\n'a': 2\n\"a\": 3\n")
    assert problems == ["f.yaml:2:1: a: duplicate key 'a' (first defined on line 1)",
                        "f.yaml:3:1: a: duplicate key 'a' (first defined on line 1)"]


def test_complex_key() -> None:
    _, problems = parse("? [a, b]\n: c\nd: 1\n")
    assert problems == ["f.yaml:1:3: a key must be plain text"]


def test_raw_control_characters_are_all_located() -> None:
    problems = refused("a: x\x00y\nb: \x1b[31mred\x7f\nc: \x85\x9f\n")
    assert problems == [
        "f.yaml:1:5: control character U+0000 is not allowed",
        "f.yaml:2:4: control character U+001B is not allowed",
        "f.yaml:2:12: control character U+007F is not allowed",
        "f.yaml:3:4: control character U+0085 is not allowed",
        "f.yaml:3:5: control character U+009F is not allowed",
    ]


def test_control_characters_written_as_escapes() -> None:
    problems = refused('a: "x\\0y"\nb: [ok, {c: "\\e[31m"}]\n"k\\x01": 1\nd: "\\N"\n')
    assert problems == [
        "f.yaml:1:4: a: control character U+0000 is not allowed",
        "f.yaml:2:13: b[1].c: control character U+001B is not allowed",
        "f.yaml:3:1: control character U+0001 is not allowed",
        "f.yaml:4:4: d: control character U+0085 is not allowed",
    ]


def test_many_control_characters_are_capped() -> None:
    r = Reader("f.yaml")
    assert r.parse("a: " + "\x00" * 10_000 + "\n") is None
    assert 1 < len(r.problems) <= 52


def test_crlf_is_not_a_control_character() -> None:
    node, problems = parse("a: 1\r\nb: |\r\n  x\r\n  y\r\n")
    assert problems == []
    assert node is not None and isinstance(node.value, dict)
    assert node.value["b"].value == "x\ny\n" and node.value["b"].line == 2


# --- hostile sizes -------------------------------------------------------------------------

def billion_laughs(levels: int = 9) -> str:
    lines = ['lol0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, levels):
        lines.append(f"lol{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]")
    lines.append(f"root: *a{levels - 1}")
    return "\n".join(lines) + "\n"


def test_billion_laughs_is_refused_quickly_and_small() -> None:
    tracemalloc.start()
    start = time.perf_counter()
    try:
        problems = refused(billion_laughs())
        elapsed = time.perf_counter() - start
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert problems == ["f.yaml:1:7: YAML anchors (&a0) are not allowed"]
    assert elapsed < 1.0
    assert peak < 5_000_000


def test_aliases_without_anchors_are_refused_too() -> None:
    # an alias to nothing is a composer error in PyYAML; the event stream still shows it
    text = "root: [" + ", ".join(["*a"] * 9) + "]\n"
    assert refused(text) == ["f.yaml:1:8: YAML aliases (*name) are not allowed" + QUOTE]


@pytest.mark.parametrize("text, where", [
    ("[" * 100_000, "1:33"),
    ("[" * 100_000 + "]" * 100_000, "1:33"),
    ("{a: " * 100_000, "1:129"),
    ("- " * 100_000 + "x\n", "1:65"),
])
def test_deep_nesting_is_refused_quickly(text: str, where: str) -> None:
    start = time.perf_counter()
    problems = refused(text)
    assert time.perf_counter() - start < 1.0
    assert problems == [f"f.yaml:{where}: document nested too deeply (over {MAX_DEPTH} levels)"]


def test_nesting_limit_boundary() -> None:
    ok = "[" * MAX_DEPTH + "]" * MAX_DEPTH
    assert parse(ok)[1] == []
    assert len(refused("[" + ok + "]")) == 1


def test_builder_does_not_recurse(monkeypatch: pytest.MonkeyPatch) -> None:
    """Even without the depth limit, nesting far past the recursion limit allowed here is built.

    libyaml in PyYAML >= 6.0.4 stops at 1,000 levels itself, so the depth stays below that and
    the recursion limit is lowered instead: a recursive builder would fail, ours must not."""
    monkeypatch.setattr(yamltree, "MAX_DEPTH", 10**9)
    depth = 900
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(len(inspect.stack()) + 150)
    try:
        node, problems = parse("[" * depth + "x" + "]" * depth)
    finally:
        sys.setrecursionlimit(limit)
    assert problems == []
    for _ in range(depth):
        assert node is not None and node.kind == "seq" and isinstance(node.value, list)
        node = node.value[0]
    assert node is not None and node.value == "x"


# --- files ---------------------------------------------------------------------------------

def load(path: Path, max_bytes: int = 1000) -> tuple[YNode | None, list[str]]:
    r = Reader(path)
    node = r.load(max_bytes)
    return node, [str(p).removeprefix(f"{path.parent}/") for p in r.problems]


def test_load_file(tmp_path: Path) -> None:
    f = tmp_path / "a.yaml"
    f.write_bytes(b"\xef\xbb\xbfa: caf\xc3\xa9\n")
    node, problems = load(f)
    assert problems == [] and node is not None and isinstance(node.value, dict)
    assert node.value["a"].value == "café" and node.key_lines == {"a": (1, 1)}


def test_size_limit_is_checked_before_reading(tmp_path: Path) -> None:
    f = tmp_path / "a.yaml"
    exactly = "".join(f"k{i:03}: 1\n" for i in range(125)).encode()  # 125 lines of 8 bytes
    assert len(exactly) == 1000
    f.write_bytes(exactly + b"#")
    assert load(f) == (None, ["a.yaml:1:1: file is 1,001 bytes; the limit is 1,000 bytes"])
    f.write_bytes(exactly)
    assert load(f)[1] == []


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
def test_device_without_a_size_is_read_only_up_to_the_limit() -> None:
    r = Reader("/dev/zero")
    assert r.load(1000) is None
    assert [str(p) for p in r.problems] == ["/dev/zero:1:1: file is over the limit of 1,000 bytes"]


@pytest.mark.parametrize("data, problem", [
    (b"a: 1\nb: caf\xe9\n", "a.yaml:2:7: not valid UTF-8 (byte 0xe9 at offset 11); save the file as UTF-8"),
    (b"a: \xc3\xa9\xc3\xa9\xff\n", "a.yaml:1:6: not valid UTF-8 (byte 0xff at offset 7); save the file as UTF-8"),
    ("a: 1\n".encode("utf-16"), "a.yaml:1:1: file is UTF-16; save it as UTF-8"),
    ("a: 1\n".encode("utf-16-be").join([b"\xfe\xff", b""]), "a.yaml:1:1: file is UTF-16; save it as UTF-8"),
    (b"a: 1\n\x00", "a.yaml:2:1: control character U+0000 is not allowed"),
])
def test_bad_bytes(data: bytes, problem: str, tmp_path: Path) -> None:
    f = tmp_path / "a.yaml"
    f.write_bytes(data)
    assert load(f) == (None, [problem])


def test_missing_file_and_directory(tmp_path: Path) -> None:
    assert load(tmp_path / "nope.yaml") == (None, ["nope.yaml:1:1: no such file"])
    (tmp_path / "dir.yaml").mkdir()
    assert load(tmp_path / "dir.yaml") == (None, ["dir.yaml:1:1: is a directory, not a YAML file"])


def test_raise_if_errors_keeps_warnings_and_sorts() -> None:
    r = Reader("f.yaml")
    r.problem(3, 1, "b", "second")
    r.warn(1, 5, "a", "careful")
    with pytest.raises(InputError) as info:
        r.raise_if_errors()
    assert str(info.value) == "f.yaml:1:5: warning: a: careful\nf.yaml:3:1: b: second"
    assert info.value.exit_code == 2
    only_warnings = Reader("f.yaml")
    only_warnings.warn(1, 1, "", "fine")
    only_warnings.raise_if_errors()  # warnings alone do not raise


# --- streaming -----------------------------------------------------------------------------

def test_on_item_streams_top_level_items() -> None:
    items: list[YNode] = []
    r = Reader("f.yaml")
    root = r.parse("- a\n- {b: 1, b: 2}\n- [c]\n- {d: \"\\0\"}\n- e\n", items.append)
    assert [str(p) for p in r.problems] == [
        "f.yaml:2:10: [1].b: duplicate key 'b' (first defined on line 2)",
        "f.yaml:4:7: [3].d: control character U+0000 is not allowed",
    ]
    assert root is None  # a control character anywhere: no tree
    assert [(i.kind, i.line) for i in items] == [("str", 1), ("map", 2), ("seq", 3), ("str", 5)]


def test_on_item_keeps_nothing_in_the_root() -> None:
    items: list[YNode] = []
    r = Reader("f.yaml")
    root = r.parse("".join(f"- {{email: u{i}@example.org}}\n" for i in range(1000)), items.append)
    assert r.problems == [] and len(items) == 1000
    assert root is not None and root.kind == "seq" and root.value == []


# --- no unsafe loading anywhere --------------------------------------------------------------

UNSAFE = re.compile(r"yaml\.load\(|\bunsafe_load\b|\bfull_load\b|yaml\.Loader\b|\bUnsafeLoader\b|"
                    r"\bFullLoader\b|\byaml\.unsafe|from yaml import .*\bLoader\b")


def test_unsafe_pattern_catches_what_it_should() -> None:
    for bad in ["yaml.load(f)", "yaml.unsafe_load(s)", "yaml.full_load(s)", "Loader=yaml.Loader",
                "yaml.UnsafeLoader", "yaml.FullLoader", "from yaml import Loader"]:
        assert UNSAFE.search(bad), bad
    for fine in ["yaml.safe_load(s)", "yaml.CSafeLoader", "yaml.SafeLoader", "yaml.parse(t)"]:
        assert not UNSAFE.search(fine), fine


def test_no_unsafe_yaml_loading_in_the_package() -> None:
    files = sorted(PACKAGE.rglob("*.py"))
    assert len(files) > 10
    hits = [f"{f.relative_to(PACKAGE)}:{n}: {line.strip()}"
            for f in files for n, line in enumerate(f.read_text(encoding="utf-8").splitlines(), 1)
            if UNSAFE.search(line)]
    assert hits == []


# --- nesting: our message at our level, whatever PyYAML 6.x's libyaml limits ----------------

_SHAPES = [  # (text with n levels, line:col where level MAX_DEPTH + 1 starts)
    (lambda n: "[" * n, "1:33"),
    (lambda n: "{a: " * n, "1:129"),
    (lambda n: "root:\n  list: " + "[" * n + "x" + "]" * n + "\n", "2:39"),
    (lambda n: "- " * n + "x\n", "1:65"),
    (lambda n: "[{k: " * n, "1:81"),
    (lambda n: "k: " + "[" * n + "\n", "1:35"),
]


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 999, 1_000, 1_001, 5_000, 100_000])
@pytest.mark.parametrize("shape, where", _SHAPES)
def test_any_deep_document_gets_our_located_message(shape, where: str, depth: int) -> None:  # type: ignore[no-untyped-def]
    assert refused(shape(depth)) == [f"f.yaml:{where}: document nested too deeply (over {MAX_DEPTH} levels)"]


@pytest.mark.skipif(getattr(getattr(yaml, "_yaml", None), "_get_max_nest_level", lambda: -1)() == -1,
                    reason="this libyaml has no nesting limit of its own")
@pytest.mark.parametrize("libyaml_limit", [MAX_DEPTH + 1, MAX_DEPTH + 8, 200])
@pytest.mark.parametrize("shape, where", _SHAPES)
def test_libyaml_limit_below_lookahead_is_translated(shape, where: str, libyaml_limit: int) -> None:  # type: ignore[no-untyped-def]
    """libyaml's scanner reads ahead of the events; its own limit firing first must still give
    our message at our level, never libyaml's text."""
    default = yaml._yaml._get_max_nest_level()
    yaml._yaml._set_max_nest_level(libyaml_limit)
    try:
        assert refused(shape(libyaml_limit + 50)) == [
            f"f.yaml:{where}: document nested too deeply (over {MAX_DEPTH} levels)"]
    finally:
        yaml._yaml._set_max_nest_level(default)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("[]{}:,-'\"&*!|>#%@` \n\tax1é\u00a0\ufeff")), max_size=60))
def test_pyyaml_error_text_is_never_shown_raw(text: str) -> None:
    """Whatever the input, a problem is one located line of ours, never PyYAML's dump."""
    for problem in parse(text)[1]:
        assert "\n" not in problem and "<unicode string>" not in problem and "<byte string>" not in problem
        assert re.match(r"f\.yaml:\d+:\d+: ", problem), problem


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("[]{}:,-'\"&*!|>#%@` \n\tax1é")), max_size=40))
def test_byte_order_mark_changes_no_message(text: str) -> None:
    """libyaml skips a leading BOM without counting it; our marks and hints must not shift."""
    assert parse("\ufeff" + text)[1] == parse(text)[1]
