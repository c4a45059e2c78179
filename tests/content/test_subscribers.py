"""The subscriber list: addresses, topics, duplicates and located problems."""

from __future__ import annotations

from pathlib import Path

import pytest

from newsletter.content.subscribers import Subscriber, load_subscribers, read_subscribers
from newsletter.errors import InputError


def write(project: Path, text: str | bytes) -> Path:
    path = project / "subs.yaml"
    path.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    return path


def problems(project: Path, settings, text: str | bytes) -> list[str]:  # type: ignore[no-untyped-def]
    path = write(project, text)
    _, reader = read_subscribers(path, settings)
    return [str(p).replace(f"{path}:", "subs.yaml:") for p in reader.problems]


def errors(project: Path, settings, text: str | bytes) -> str:  # type: ignore[no-untyped-def]
    path = write(project, text)
    with pytest.raises(InputError) as info:
        load_subscribers(path, settings)
    return str(info.value).replace(f"{path}:", "subs.yaml:")


def subs(project: Path, settings, text: str) -> list[Subscriber]:  # type: ignore[no-untyped-def]
    found, reader = load_subscribers(write(project, text), settings)
    assert reader.errors == []
    return found


def test_example_list(project: Path, settings) -> None:  # type: ignore[no-untyped-def]
    found, reader = load_subscribers(project / "subscribers.example.yaml", settings)
    assert reader.problems == []
    assert [s.email for s in found] == ["ana.researcher@example.org", "ben@example.com",
                                        "chloe@example.org", "dev@example.com", "eli@example.org",
                                        "farah@example.com"]
    ana, _, chloe, dev, _, _ = found
    assert ana.name == "Ana Researcher" and ana.topics and frozenset({"depression", "cbt", "group"}) <= ana.topics
    assert ana.line == 7 and not ana.smtputf8
    assert chloe.name == "Chloé Dubois" and chloe.topics is None  # `all`
    assert dev.name == "" and dev.topics == frozenset({"trauma", "outcomes"})  # by label


@pytest.mark.parametrize("topics", ["", "  topics: all\n", "  topics: ALL\n", "  topics: ' All '\n",
                                    "  topics:\n", "  topics: ~\n"])
def test_every_topic(topics: str, project: Path, settings) -> None:  # type: ignore[no-untyped-def]
    (sub,) = subs(project, settings, f"- email: a@example.org\n{topics}")
    assert sub.topics is None


def test_topics_by_slug_or_label(project: Path, settings) -> None:  # type: ignore[no-untyped-def]
    (one, two) = subs(project, settings,
                      "- email: a@example.org\n  topics: [cbt, Group Psychotherapy, 'TRAUMA AND/OR PTSD']\n"
                      "- email: b@example.org\n  topics: empathy\n")
    assert one.topics == frozenset({"cbt", "group", "trauma"})
    assert two.topics == frozenset({"empathy"})


def test_unknown_topics(project: Path, settings) -> None:  # type: ignore[no-untyped-def]
    assert errors(project, settings,
                  "- email: a@example.org\n  topics: [grop, cbt, Empathie]\n"
                  "- email: b@example.org\n  topics: []\n"
                  "- email: c@example.org\n  topics: [no]\n") == (
        "subs.yaml:2:12: [0].topics[0]: unknown topic 'grop' (did you mean 'group'?)\n"
        "subs.yaml:2:23: [0].topics[2]: unknown topic 'Empathie' (did you mean 'Empathy'?)\n"
        "subs.yaml:4:11: [1].topics: no topics given (leave the key out or write 'all' for every topic)\n"
        "subs.yaml:6:12: [2].topics[0]: expected text, got a boolean ('no') "
        "(put it in quotes if you mean the text)")


@pytest.mark.parametrize("email, message", [
    ("no-at-sign", "invalid e-mail address 'no-at-sign': An email address must have an @-sign."),
    ("a..b@x.org", "invalid e-mail address 'a..b@x.org': An email address cannot have two periods in a row."),
    ("'Bob <b@x.org>'", ("invalid e-mail address 'Bob <b@x.org>': A display name and angle brackets "
                        "around the email address are not permitted here.")),
    ("x" * 65 + "@example.org", (f"invalid e-mail address '{'x' * 65}@example.org': the part before "
                                "the @ is 65 octets; RFC 5321 allows at most 64")),
    ('"a@x.org\\r\\nRCPT TO:<evil@x.org>"', "must be a single line"),
    ('"a@x.org\\rRCPT TO:<evil@x.org>"', "must be a single line"),
    ('"a@x.org\\0"', "control character U+0000 is not allowed"),
    ("a@b", "invalid e-mail address 'a@b': The part after the @-sign is not valid. It should have a period."),
    ("12", "expected text, got a number ('12') (put it in quotes if you mean the text)"),
    ("", "expected text, got nothing"),
])
def test_invalid_addresses(email: str, message: str, project: Path, settings) -> None:  # type: ignore[no-untyped-def]
    text = f"- email: ok@example.org\n- email: {email}\n  name: Bob\n"
    col = 9 if email == "" else 10
    assert errors(project, settings, text) == f"subs.yaml:2:{col}: [1].email: {message}"


def test_address_over_254_octets(project: Path, settings) -> None:  # type: ignore[no-untyped-def]
    addr = "x" * 64 + "@" + ".".join(["d" * 60, "e" * 60, "f" * 60, "g" * 3]) + ".org"
    message = errors(project, settings, f"- email: {addr}\n")
    assert message.startswith(f"subs.yaml:1:10: [0].email: invalid e-mail address '{addr}': ")
    assert "too long" in message


def test_idn_and_smtputf8(project: Path, settings) -> None:  # type: ignore[no-untyped-def]
    found = subs(project, settings, "- email: user@straße.de\n- email: user@bücher.de\n"
                                    "- email: josé@example.com\n")
    assert [(s.email, s.smtputf8) for s in found] == [
        ("user@xn--strae-oqa.de", False), ("user@xn--bcher-kva.de", False), ("josé@example.com", True)]
    assert "strasse" not in found[0].email


def test_duplicates_in_case_are_merged_with_a_warning(project: Path, settings) -> None:  # type: ignore[no-untyped-def]
    text = ("- email: Alice@Example.COM\n  name: Alice\n  topics: [cbt]\n"
            "- email: bob@example.org\n"
            "- email: alice@example.com\n  name: Other\n  topics: [group, Empathy]\n")
    found, reader = read_subscribers(write(project, text), settings)
    assert reader.errors == []
    assert [str(p).split(": ", 1)[1] for p in reader.warnings] == [
        ("warning: [2].email: 'alice@example.com' duplicates 'Alice@example.com' on line 1; "
        "merged into one subscriber")]
    assert (reader.warnings[0].line, reader.warnings[0].col) == (5, 1)
    assert [s.email for s in found] == ["Alice@example.com", "bob@example.org"]
    alice = found[0]
    assert alice.name == "Alice" and alice.line == 1
    assert alice.topics == frozenset({"cbt", "group", "empathy"})  # union


@pytest.mark.parametrize("first, second", [("  topics: all\n", "  topics: [cbt]\n"),
                                           ("  topics: [cbt]\n", "  topics: all\n"),
                                           ("", "  topics: [cbt]\n"),
                                           ("  topics: [cbt]\n", "")])
def test_every_topic_wins_when_merging(first: str, second: str, project: Path, settings) -> None:  # type: ignore[no-untyped-def]
    found = subs(project, settings, f"- email: a@example.org\n{first}- email: A@EXAMPLE.ORG\n{second}")
    assert len(found) == 1 and found[0].topics is None


def test_idn_duplicates_merge(project: Path, settings) -> None:  # type: ignore[no-untyped-def]
    text = "- email: user@bücher.de\n- email: USER@BÜCHER.DE\n- email: user@xn--bcher-kva.de\n"
    found, reader = read_subscribers(write(project, text), settings)
    assert [s.email for s in found] == ["user@xn--bcher-kva.de"]
    assert [p.line for p in reader.warnings] == [2, 3]


@pytest.mark.parametrize("name, message", [
    ('"Eve\\r\\nBcc: victim@example.org"', "must be a single line"),
    ('"Eve\\rBcc: victim@example.org"', "must be a single line"),
    ('"Eve\\x1b[31m"', "control character U+001B is not allowed"),
    ('"Eve \\u202Eevil"', "the name contains the character U+202E, which is not allowed in a mail header (line breaks, control characters, bidi overrides)"),
    ("[Eve]", "expected text, got a list"),
])
def test_header_injection_in_name(name: str, message: str, project: Path, settings) -> None:  # type: ignore[no-untyped-def]
    assert errors(project, settings, f"- email: a@example.org\n  name: {name}\n") == (
        f"subs.yaml:2:9: [0].name: {message}")


def test_names(project: Path, settings) -> None:  # type: ignore[no-untyped-def]
    found = subs(project, settings, "- email: a@example.org\n  name: '  Ana  '\n"
                                    "- email: b@example.org\n  name: ''\n"
                                    "- email: c@example.org\n  name:\n"
                                    "- email: d@example.org\n  name: 'Smith, \"Jo\" <x@y.org>'\n")
    assert [s.name for s in found] == ["Ana", "", "", 'Smith, "Jo" <x@y.org>']


@pytest.mark.parametrize("text, expected", [
    ("", ["subs.yaml:1:1: the subscriber list is empty (expected a list of subscribers)"]),
    ("# nobody yet\n", ["subs.yaml:1:1: the subscriber list is empty (expected a list of subscribers)"]),
    ("email: a@example.org\n", ["subs.yaml:1:1: expected a list of subscribers, got a mapping"]),
    ("- email: a@example.org\n- {email: b@example.org\n",
     [("subs.yaml:3:1: YAML syntax error: did not find expected ',' or '}' (while parsing a flow "
      "mapping started on line 2, column 3)")]),
    ("- email: a@example.org\n\t- email: b@example.org\n",
     ["subs.yaml:2:1: YAML syntax error: a tab character; YAML is indented with spaces, never tabs"]),
    ("- a@example.org\n- email: b@example.org\n  emial: x\n- [1]\n-\n- email: c@example.org\n  topics: [a, b\n",
     ["subs.yaml:1:3: [0]: expected a subscriber mapping, got text ('a@example.org')",
      "subs.yaml:3:3: [1].emial: unknown key 'emial' (did you mean 'email'?)",
      "subs.yaml:4:3: [2]: expected a subscriber mapping, got a list",
      "subs.yaml:5:2: [3]: expected a subscriber mapping, got nothing",
      ("subs.yaml:8:1: YAML syntax error: did not find expected ',' or ']' (while parsing a flow "
      "sequence started on line 7, column 11)")]),
    ("- name: Ana\n", ["subs.yaml:1:3: [0]: missing required key 'email'"]),
    ("- email: a@example.org\n  email: b@example.org\n",
     ["subs.yaml:2:3: [0].email: duplicate key 'email' (first defined on line 1)"]),
    ("- email: a@example.org\n- &x {email: b@example.org}\n",
     ["subs.yaml:2:3: YAML anchors (&x) are not allowed"]),
    (b"- email: a@example.org\n  name: Ren\xe9\n",
     ["subs.yaml:2:12: not valid UTF-8 (byte 0xe9 at offset 34); save the file as UTF-8"]),
])
def test_malformed_files_are_located(  # type: ignore[no-untyped-def]
        text: str | bytes, expected: list[str], project: Path, settings) -> None:
    assert problems(project, settings, text) == expected


def test_errors_stop_loading_but_all_are_reported(project: Path, settings) -> None:  # type: ignore[no-untyped-def]
    text = "".join(f"- email: user{i}@example.org\n" for i in range(50))
    text += "- email: bad\n" + "".join(f"- email: more{i}@example.org\n" for i in range(50))
    text += "- email: also..bad@example.org\n"
    message = errors(project, settings, text)
    assert [line.split(": ")[0] for line in message.splitlines()] == ["subs.yaml:51:10", "subs.yaml:102:10"]


def test_crlf_and_bom(project: Path, settings) -> None:  # type: ignore[no-untyped-def]
    text = "\ufeff- email: a@example.org\r\n  name: Ana\r\n  topics: [cbt]\r\n"
    (sub,) = subs(project, settings, text)
    assert (sub.email, sub.name, sub.topics) == ("a@example.org", "Ana", frozenset({"cbt"}))


def test_long_list_with_duplicates(project: Path, settings) -> None:  # type: ignore[no-untyped-def]
    lines = []
    for i in range(5000):
        lines.append(f"- email: User{i % 4000}@Example.org\n  topics: [cbt]\n")
    found, reader = read_subscribers(write(project, "".join(lines)), settings)
    assert reader.errors == [] and len(reader.warnings) == 1000
    assert len(found) == 4000 and found[0].email == "User0@example.org"
    assert len({s.key for s in found}) == 4000
