"""newsletter.yaml: every problem located, compliance facts mandatory, topics unambiguous."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from newsletter.content.config import load_settings
from newsletter.content.taxonomy import Taxonomy
from newsletter.errors import InputError

from ..conftest import add_config


def config_text(project: Path) -> str:
    return (project / "newsletter.yaml").read_text(encoding="utf-8")


def line_of(text: str, needle: str) -> int:
    return text[:text.index(needle)].count("\n") + 1


def refused(project: Path, text: str) -> str:
    (project / "newsletter.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as info:
        load_settings(project)
    return str(info.value)


def accepted(project: Path, text: str):  # type: ignore[no-untyped-def]
    (project / "newsletter.yaml").write_text(text, encoding="utf-8")
    return load_settings(project)


def test_example_config(project: Path) -> None:
    s = load_settings(project)
    assert s.root == project.resolve()
    assert s.name == "Practice Research Digest"
    assert s.sender.addr == "digest@news.example.org" and s.sender.name == "Practice Research Digest"
    assert s.reply_to is not None and s.reply_to.addr == "editor@news.example.org"
    assert s.base_url == "https://news.example.org" and s.list_id == "digest.news.example.org"
    assert s.unsubscribe_mailto == "unsubscribe@news.example.org"
    assert s.domain == "news.example.org" and s.no_match == "skip"
    assert s.taxonomy.lookup("cbt") == "cbt"
    assert s.taxonomy.lookup("  trauma AND/or   ptsd ") == "trauma"
    assert s.taxonomy.lookup("nope") is None
    assert s.smtp is None


def test_found_from_a_subfolder(project: Path) -> None:
    assert load_settings(project / "issues").root == project.resolve()


def test_missing_postal_address(project: Path) -> None:
    text = re.sub(r"(?m)^postal_address:.*\n", "", config_text(project))
    first = min(i for i, line in enumerate(text.splitlines(), 1) if line and not line.startswith("#"))
    assert refused(project, text) == (
        f"newsletter.yaml:{first}:1: postal_address: missing required key 'postal_address'")


def test_several_required_keys_missing(project: Path) -> None:
    assert refused(project, "name: X\ntopics: {a: A}\n") == "\n".join(
        f"newsletter.yaml:1:1: {key}: missing required key '{key}'"
        for key in ["from", "postal_address", "base_url", "list_id"])


@pytest.mark.parametrize("old, new, message", [
    ('base_url: "https://news.example.org"', 'base_url: "http://news.example.org"',
     "base_url: URL must start with https://, got 'http://news.example.org'"),
    ('base_url: "https://news.example.org"', "base_url: news.example.org",
     "base_url: URL must start with https://, got 'news.example.org'"),
    ('list_id: "digest.news.example.org"', 'list_id: "digest news"',
     "list_id: 'digest news' is not a list id (expected label.domain, e.g. digest.news.example.org)"),
    ('list_id: "digest.news.example.org"', 'list_id: "digest"',
     "list_id: 'digest' is not a list id (expected label.domain, e.g. digest.news.example.org)"),
    ('list_id: "digest.news.example.org"', "list_id: <digest.news.example.org>",
     ("list_id: '<digest.news.example.org>' is not a list id (expected label.domain, e.g. "
     "digest.news.example.org)")),
    ("no_match: skip", "no_match: none", "no_match: must be 'skip' or 'full', got 'none'"),
    ('postal_address: "Practice', 'postal_address: ""\nx_postal: "Practice', None),
    ('from: "Practice Research Digest <digest@news.example.org>"', 'from: "Digest <digest@news>"',
     ("from: invalid e-mail address 'digest@news': The part after the @-sign is not valid. "
     "It should have a period.")),
    ('from: "Practice Research Digest <digest@news.example.org>"',
     'from: "Digest\\r\\nBcc: victim@example.org <digest@news.example.org>"', "from: must be a single line"),
    ('from: "Practice Research Digest <digest@news.example.org>"', "from: 12",
     "from: expected text, got a number ('12') (put it in quotes if you mean the text)"),
    ("name: Practice Research Digest", "name: yes",
     "name: expected text, got a boolean ('yes') (put it in quotes if you mean the text)"),
    ("name: Practice Research Digest", 'name: "Digest\\e[31m"', "name: control character U+001B is not allowed"),
    ("name: Practice Research Digest", 'name: "Digest \\u202e evil"',
     ("name: the site name contains the character U+202E, which is not allowed in a mail header (line "
      "breaks, control characters, bidi overrides)")),
    ("no_match: skip", "language: french",
     "language: 'french' is not a language tag (BCP 47, e.g. en, fr, fr-CA, pt-BR, zh-Hant)"),
])
def test_located_problems(old: str, new: str, message: str | None, project: Path) -> None:
    text = config_text(project)
    assert old in text
    changed = text.replace(old, new)
    got = refused(project, changed)
    if message is None:  # the first line of several
        assert got.startswith(f"newsletter.yaml:{line_of(changed, new)}:")
        return
    key = new.split(":")[0]
    col = len(key) + 3 if new[len(key) + 2:len(key) + 3] != "\n" else len(key) + 2
    assert got == f"newsletter.yaml:{line_of(changed, new)}:{col}: {message}"


def test_unknown_key(project: Path) -> None:
    text = config_text(project) + "sender: x\nbase_uri: https://x.org\n"
    n = text.count("\n")
    assert refused(project, text) == (
        f"newsletter.yaml:{n - 1}:1: sender: unknown key 'sender'\n"
        f"newsletter.yaml:{n}:1: base_uri: unknown key 'base_uri' (did you mean 'base_url'?)")


SMTP = "smtp:\n  host: smtp.example.org\n  port: 587\n  security: {security}\n"


def test_smtp(project: Path) -> None:
    base = config_text(project)
    s = accepted(project, base + SMTP.format(security="starttls"))
    assert s.smtp is not None and (s.smtp.host, s.smtp.port, s.smtp.security) == ("smtp.example.org", 587,
                                                                                  "starttls")
    assert accepted(project, base + SMTP.format(security="tls")).smtp.security == "tls"


def test_smtp_timeouts_default_to_rfc_5321_minimums(project: Path) -> None:
    """RFC 5321 §4.5.3.2: 5 minutes for the greeting, MAIL and RCPT, 10 after the final dot."""
    base = config_text(project) + SMTP.format(security="starttls")
    s = accepted(project, base).smtp
    assert s is not None and (s.timeout, s.data_timeout) == (300, 600)
    s = accepted(project, base + "  timeout: 2.5\n  data_timeout: 30\n").smtp
    assert s is not None and (s.timeout, s.data_timeout) == (2.5, 30)


def test_grace_seconds(project: Path) -> None:
    base = config_text(project)
    assert accepted(project, base).grace_seconds == 8
    assert accepted(project, base + "grace_seconds: 0.5\n").grace_seconds == 0.5
    text = base + "grace_seconds: -1\n"
    assert refused(project, text) == (
        f"newsletter.yaml:{text.count(chr(10))}:16: grace_seconds: must be between 0 and 3600, got -1")


@pytest.mark.parametrize("security, shown", [("none", "none"), ("plain", "plain"), ("'off'", "off"),
                                             ("STARTTLS", "STARTTLS"), ("ssl", "ssl")])
def test_smtp_security_none_is_refused(security: str, shown: str, project: Path) -> None:
    text = config_text(project) + SMTP.format(security=security)
    assert refused(project, text) == (
        f"newsletter.yaml:{text.count(chr(10))}:13: smtp.security: must be 'starttls' or 'tls' "
        f"(plaintext is never used), got '{shown}'")


def test_smtp_security_boolean_is_refused(project: Path) -> None:
    text = config_text(project) + SMTP.format(security="off")
    assert refused(project, text) == (
        f"newsletter.yaml:{text.count(chr(10))}:13: smtp.security: expected text, got a boolean ('off') "
        "(put it in quotes if you mean the text)")


def test_smtp_problems(project: Path) -> None:
    text = config_text(project) + "smtp:\n  host: smtp.example.org\n  port: 99999\n  secrity: tls\n"
    n = text.count("\n")
    assert refused(project, text) == "\n".join([
        f"newsletter.yaml:{n - 2}:3: smtp: missing required key 'security'",
        f"newsletter.yaml:{n - 1}:9: smtp.port: must be between 1 and 65535, got 99999",
        f"newsletter.yaml:{n}:3: smtp.secrity: unknown key 'secrity' (did you mean 'security'?)",
    ])


@pytest.mark.parametrize("value, expected", [("4", 4), ("0x8", 8), ("1_0", 10), ("010", 8), ("2.0", 2)])
def test_numbers_in_yaml_forms(value: str, expected: int, project: Path) -> None:
    assert accepted(project, config_text(project) + f"connections: {value}\n").connections == expected


@pytest.mark.parametrize("value, message", [
    ("0", "must be between 1 and 64, got 0"),
    ("0x100", "must be between 1 and 64, got 256"),
    (".nan", "must be between 1 and 64, got nan"),
    (".inf", "must be between 1 and 64, got inf"),
    ("'4'", "expected a number, got text ('4')"),
    ("four", "expected a number, got text ('four')"),
])
def test_bad_numbers(value: str, message: str, project: Path) -> None:
    text = config_text(project) + f"connections: {value}\n"
    assert refused(project, text) == f"newsletter.yaml:{text.count(chr(10))}:14: connections: {message}"


# --- topics --------------------------------------------------------------------------------

def with_topics(project: Path, extra: str) -> str:
    text = config_text(project)
    anchor = "  empathy: Empathy\n"
    assert anchor in text
    return text.replace(anchor, anchor + extra)


def test_duplicate_topic_label(project: Path) -> None:
    text = with_topics(project, "  empathie: '  EMPATHY '\n")
    n = line_of(text, "  empathie:")
    assert refused(project, text) == (
        f"newsletter.yaml:{n}:13: topics.empathie: label 'EMPATHY' is also used by 'empathy'")


def test_duplicate_topic_slug(project: Path) -> None:
    text = with_topics(project, "  empathy: Again\n")
    n = line_of(text, "  empathy: Again")
    assert refused(project, text) == (
        f"newsletter.yaml:{n}:3: topics.empathy: duplicate key 'empathy' (first defined on line {n - 1})")


def test_label_that_is_another_topics_slug(project: Path) -> None:
    text = with_topics(project, "  other: CBT\n")
    n = line_of(text, "  other: CBT")
    assert refused(project, text) == (
        f"newsletter.yaml:{n}:10: topics.other: label 'CBT' is the slug of the topic 'cbt'")


@pytest.mark.parametrize("slug", ["Empathy_2", "bad slug", "-lead", "trail-", "double--hyphen", "émpathy",
                                  '"cbt\\n"', "UPPER"])
def test_bad_slug(slug: str, project: Path) -> None:
    text = with_topics(project, f"  {slug}: Something new\n")
    n = line_of(text, "Something new")
    message = refused(project, text)
    assert message.startswith(f"newsletter.yaml:{n}:3: topics: slug '")
    assert message.endswith("' must be lower-case letters, digits and hyphens")
    assert len(message.splitlines()) == 1


@pytest.mark.parametrize("topics, message", [
    ("topics: []", "topics: expected a mapping of slug: label"),
    ("topics: {}", "topics: expected a mapping of slug: label"),
    ("topics: cbt", "topics: expected a mapping of slug: label"),
])
def test_topics_must_be_a_mapping(topics: str, message: str, project: Path) -> None:
    text = re.sub(r"(?ms)^topics:\n(  .*?\n)+", topics + "\n", config_text(project))
    n = line_of(text, topics)
    assert refused(project, text) == f"newsletter.yaml:{n}:9: {message}"


def test_taxonomy_order_and_suggestions() -> None:
    t = Taxonomy({"cbt": "Cognitive Behavioural Therapy", "group": "Group Psychotherapy", "ml": "ML"})
    assert t.order({"ml", "cbt"}) == ["cbt", "ml"]
    assert t.lookup("COGNITIVE  behavioural therapy") == "cbt"
    assert t.lookup("ml ") == "ml"
    assert t.suggest("grop") == " (did you mean 'group'?)"
    assert t.suggest("group psychoterapy") == " (did you mean 'Group Psychotherapy'?)"
    assert t.suggest("zzzz") == " (see the topics in newsletter.yaml)"


# --- file-level problems --------------------------------------------------------------------

@pytest.mark.parametrize("text, message", [
    ("", "newsletter.yaml:1:1: the configuration file is empty"),
    ("# nothing yet\n", "newsletter.yaml:1:1: the configuration file is empty"),
    ("name: [x\n", ("newsletter.yaml:2:1: YAML syntax error: did not find expected ',' or ']' "
                  "(while parsing a flow sequence started on line 1, column 7); nothing else in the "
                  "file could be checked")),
    ("- a\n", "newsletter.yaml:1:1: expected a mapping, got a list"),
    ("name: &n X\n", ("newsletter.yaml:1:7: YAML anchors (&n) are not allowed; if this is text, put "
         "the whole value in quotes (\"...\", or a '|' block for several lines)")),
])
def test_bad_files(text: str, message: str, project: Path) -> None:
    assert refused(project, text) == message


def test_missing_config(project: Path) -> None:
    (project / "newsletter.yaml").unlink()
    with pytest.raises(InputError) as info:
        load_settings(project)
    assert str(info.value) == "newsletter.yaml:1:1: no such file"


def test_durability(project: Path) -> None:
    assert load_settings(project).durability == "disk"  # fsync before every DATA by default
    cfg = project / "newsletter.yaml"
    cfg.write_text(cfg.read_text() + "durability: process\n")
    assert load_settings(project).durability == "process"
    cfg.write_text(cfg.read_text().replace("durability: process", "durability: fast"))
    with pytest.raises(InputError, match=r"durability: must be 'disk' or 'process', got 'fast'"):
        load_settings(project)


def test_non_ascii_name_and_language(project: Path) -> None:
    assert load_settings(project).language == "en"
    text = config_text(project).replace("name: Practice Research Digest",
                                        'name: "Réseau  de recherche\tsur la pratique 🧠"')
    s = accepted(project, text + "language: fr-CA\n")
    assert s.name == "Réseau de recherche sur la pratique 🧠"  # a phrase: single-spaced
    assert s.language == "fr-CA"


# --- renamed topics: aliases ------------------------------------------------------------------

def test_renamed_label_keeps_its_old_spelling(project: Path) -> None:
    """Adherance → Adherence: readers see the new label; files written with the old one still load."""
    from newsletter.content.issue import load_issue
    from newsletter.content.subscribers import load_subscribers

    s = load_settings(project)
    assert s.taxonomy.labels["adherence"] == "Adherence"
    assert "Adherance" not in s.taxonomy.labels.values()
    for name in ("Adherance", "adherance", "ADHERENCE", "adherence"):
        assert s.taxonomy.lookup(name) == "adherence"
    assert s.taxonomy.suggest("Adherense") == " (did you mean 'Adherence'?)"
    issue = (project / "issues" / "2021-04.yaml")
    issue.write_text(issue.read_text().replace("[alliance, adherence,", "[alliance, Adherance,"))
    assert load_issue(issue, s).articles[0].topics == ("adherence", "alliance", "common-factors")
    subs = project / "subscribers.yaml"
    subs.write_text("- email: a@example.org\n  topics: [Adherance]\n")
    people, reader = load_subscribers(subs, s)
    assert reader.problems == [] and people[0].topics == frozenset({"adherence"})


@pytest.mark.parametrize("extra, message", [
    ("  empathie: {label: Empathie, aliases: [Empathy]}\n",
     "{n}:41: topics.empathie.aliases[0]: alias 'Empathy' is the label of 'empathy'"),
    ("  other: {label: Other, aliases: [cbt]}\n",
     "{n}:35: topics.other.aliases[0]: alias 'cbt' is the slug of the topic 'cbt'"),
    ("  other: {label: Other, aliases: [Adherance]}\n",
     "{n}:35: topics.other.aliases[0]: alias 'Adherance' is an alias of 'adherence'"),
    ("  other: {label: Adherance}\n", "{n}:18: topics.other: label 'Adherance' is an alias of 'adherence'"),
    ("  other: {name: Other}\n", "{n}:10: topics.other: missing required key 'label'"),
])
def test_bad_alias(extra: str, message: str, project: Path) -> None:
    text = with_topics(project, extra)
    n = line_of(text, extra.rstrip("\n"))
    got = refused(project, text)
    assert message.format(n=n) in got


# --- logo ---------------------------------------------------------------------------------------

def test_logo(project: Path) -> None:
    assert load_settings(project).logo is None
    add_config(project, 'logo:\n  url: "https://news.example.org/logo.png"\n  alt: Practice Research Digest\n')
    logo = load_settings(project).logo
    assert logo is not None and (logo.url, logo.alt, logo.width) == (
        "https://news.example.org/logo.png", "Practice Research Digest", 160)


@pytest.mark.parametrize("logo, message", [
    ('{url: "http://news.example.org/l.png", alt: Logo}', "logo.url:"),
    ('{url: "https://news.example.org/l.png"}', "logo: missing required key 'alt'"),
    ('{url: "https://news.example.org/l.png", alt: ""}', "logo.alt: must not be empty"),
    ('{url: "https://news.example.org/l.png", alt: Logo, width: 900}',
     "logo.width: expected a whole number of pixels from 16 to 552, got 900"),
    ('{url: "https://news.example.org/l.png", alt: Logo, width: wide}', "logo.width: expected a whole number"),
])
def test_bad_logo(logo: str, message: str, project: Path) -> None:
    text = config_text(project) + f"logo: {logo}\n"
    assert message in refused(project, text)


@pytest.mark.parametrize(("text", "message"), [
    ("bounce_address: bounces+x@news.example.org", "bounce_address: must not contain '+'"),
    ("bounce_address: a-very-long-bounce-mailbox@news.example.org", "bounce_address: the part before @ may have at most 18"),
    ('bounce_address: "Bounces <bounces@news.example.org>"', "bounce_address: give the bare address"),
    ("bounces:\n  soft_limit: 0", "bounces.soft_limit: must be between 1 and 1000, got 0"),
    ("bounces:\n  soft_dayz: 3", "bounces.soft_dayz: unknown key 'soft_dayz' (did you mean 'soft_days'?)"),
    ("webhooks:\n  ses:\n    topic_arns: [newsletter]", "webhooks.ses.topic_arns: 'newsletter' is not an SNS topic ARN"),
    ("webhooks:\n  ses:\n    topic_arns: [arn:aws:sns:eu-west-1:123456789012:x]\n    cert_host: '('",
     "webhooks.ses.cert_host: not a regular expression"),
])
def test_feedback_settings_problems(project: Path, text: str, message: str) -> None:
    cfg = project / "newsletter.yaml"
    cfg.write_text(cfg.read_text() + "\n" + text + "\n")
    with pytest.raises(InputError) as e:
        load_settings(project)
    assert message in str(e.value)


def test_feedback_settings(project: Path) -> None:
    cfg = project / "newsletter.yaml"
    cfg.write_text(cfg.read_text() + "\nbounce_address: Bounces@News.Example.org\nbounces:\n  mailbox: imaps://imap."
                   "example.org/Bounces\n  soft_limit: 5\n  soft_days: 90\nwebhooks:\n  postmark: {}\n")
    fb = load_settings(project).feedback
    assert fb.bounce_address == "Bounces@news.example.org"
    assert (fb.bounces.mailbox, fb.bounces.soft_limit, fb.bounces.soft_days) == ("imaps://imap.example.org/Bounces", 5, 90)
    assert fb.webhooks.postmark is not None and fb.webhooks.ses is None
    assert load_settings(project).envelope_from == "digest@news.example.org"  # test copies keep the plain sender


def test_signup_settings(project: Path) -> None:
    from tests.conftest import add_config

    assert load_settings(project).signup.enabled and load_settings(project).signup.confirm_hours == 48
    add_config(project, "signup:\n  enabled: false\n  confirm_hours: 24\n  per_client: 5\n"
                        "  consent: 'I agree to receive {name}.'\n  allowed_origins: ['https://www.example.org/']")
    s = load_settings(project).signup
    assert (s.enabled, s.confirm_hours, s.per_client, s.allowed_origins) == (False, 24, 5, ("https://www.example.org",))
    assert s.consent_text("Digest") == "I agree to receive Digest."


def test_signup_problems(project: Path) -> None:
    from tests.conftest import add_config

    add_config(project, "signup:\n  enabled: sometimes\n  confirm_hours: 0\n  per_client: many\n"
                        "  allowed_origins: ['https://www.example.org/page', 'javascript:alert(1)']\n  colour: red")
    with pytest.raises(InputError) as info:
        load_settings(project)
    text = str(info.value)
    for part in ("signup.enabled: expected true or false", "signup.confirm_hours: must be between 1 and 720",
                 "signup.per_client: expected a number", "an origin is scheme://host[:port] only",
                 "signup.allowed_origins: URL must start with", "signup.colour: unknown key 'colour'"):
        assert part in text, (part, text)
