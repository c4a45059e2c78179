"""Site configuration (`newsletter.yaml`): identity, compliance facts, taxonomy, transport."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from . import schema
from .addresses import AddressError, Mailbox, parse_mailbox
from .feedback import FeedbackSettings, parse_feedback
from .headers import HeaderValueError, check_header_value, single_spaced
from .logo import Logo, parse_logo
from .partial import check_before_syntax_error
from .signup import SignupSettings, parse_signup
from .taxonomy import Taxonomy, parse_taxonomy
from .textfile import display_path
from .yamltree import Reader, YNode

CONFIG_NAME = "newsletter.yaml"
MAX_CONFIG_BYTES = 256 * 1024
_LIST_ID = re.compile(r"^[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+$")
# BCP 47 (RFC 5646 §2.1) language[-script][-region][-variant...], the parts a newsletter uses
_LANGUAGE = re.compile(r"[A-Za-z]{2,3}(?:-[A-Za-z]{4})?(?:-(?:[A-Za-z]{2}|\d{3}))?"
                       r"(?:-(?:[A-Za-z\d]{5,8}|\d[A-Za-z\d]{3}))*")


@dataclass(frozen=True)
class SMTPSettings:
    host: str
    port: int
    security: str  # "starttls" | "tls"
    username: str | None = None
    password_env: str = "NEWSLETTER_SMTP_PASSWORD"
    # RFC 5321 §4.5.3.2: at least 5 minutes for the greeting, MAIL and RCPT; 10 minutes for the
    # reply to the end of the message (a shorter wait there "would typically result in
    # delivery of multiple copies"). Tests may shorten both.
    timeout: float = 300.0
    data_timeout: float = 600.0
    # RFC 2920: MAIL, RCPT and DATA in one write, the next envelope behind the final dot, when
    # the relay advertises PIPELINING ("auto"); "off" sends one command at a time regardless
    pipelining: bool = True


@dataclass(frozen=True)
class RetrySettings:
    defer_seconds: float = 300.0  # first retry of a 4xx-deferred recipient (greylisting: >= 5 min)
    max_defer_seconds: float = 4000.0
    max_attempts: int = 8  # then the recipient is marked failed
    connect_retries: int = 5  # consecutive connection failures before the run stops (resumable)
    backoff_seconds: float = 2.0  # first reconnect delay, doubled each time
    breaker_threshold: int = 10  # 5.7.x policy rejections in a run that pause it


@dataclass(frozen=True)
class DKIMSettings:
    selector: str
    domain: str
    key_file: Path


@dataclass(frozen=True)
class Settings:
    root: Path
    name: str
    sender: Mailbox
    reply_to: Mailbox | None
    postal_address: str
    base_url: str
    list_id: str
    unsubscribe_mailto: str | None
    taxonomy: Taxonomy
    no_match: str = "skip"
    outbox: Path = Path("outbox")
    state_db: Path = Path("state/newsletter.sqlite3")
    smtp: SMTPSettings | None = None
    dkim: DKIMSettings | None = None
    connections: int = 4
    rate_per_second: float | None = None
    rate_per_hour: float | None = None
    envelope_from: str = ""
    retry: RetrySettings = field(default_factory=RetrySettings)
    # "disk": every `sending` mark is fsynced before DATA, so even a power loss never leads to
    # a second copy. "process": commits survive a crash of the process but not of the machine
    # (SQLite WAL, synchronous=NORMAL); faster, and a power loss may re-send in-flight messages.
    durability: str = "disk"
    # Ctrl-C / SIGTERM: seconds the messages in flight may take to finish before their
    # connections are dropped (below `docker stop`'s 10 s before it kills)
    grace_seconds: float = 8.0
    language: str = "en"  # BCP 47 tag of the issues' language: <html lang> and the body wrapper's
    # what comes back: VERP bounce address, the bounce mailbox and rule, relay webhooks
    feedback: FeedbackSettings = field(default_factory=FeedbackSettings)
    logo: Logo | None = None
    # DOI registries, asked only by `check --online` and `cite` (mirrors and tests point them
    # elsewhere; NEWSLETTER_CROSSREF_URL / NEWSLETTER_DOI_URL override them)
    crossref_url: str = "https://api.crossref.org"
    doi_url: str = "https://doi.org"
    crossref_mailto: str = ""  # the contact Crossref's polite pool asks for: reply_to or from
    signup: SignupSettings = field(default_factory=SignupSettings)

    @property
    def domain(self) -> str:
        return self.sender.addr.rsplit("@", 1)[1]

    @property
    def issues_dir(self) -> Path:
        return self.root / "issues"

    @property
    def templates_dir(self) -> Path:
        return self.root / "templates"


def find_root(start: Path | None = None) -> Path:
    """The project folder: the nearest parent holding newsletter.yaml (or the cwd)."""
    here = (start or Path.cwd()).resolve()
    for p in [here, *here.parents]:
        if (p / CONFIG_NAME).is_file():
            return p
    return here


def load_settings(root: Path | None = None) -> Settings:
    root = find_root(root)
    path = root / CONFIG_NAME
    r = Reader(display_path(path))
    node = r.load(MAX_CONFIG_BYTES)
    check_before_syntax_error(r, lambda pr, tree: _parse(pr, tree, root))
    if node is None and not r.problems:
        r.problem(1, 1, "", "the configuration file is empty")
    settings = _parse(r, node, root) if node is not None else None
    r.raise_if_errors()
    assert settings is not None
    return settings


_KEYS = ["name", "from", "postal_address", "base_url", "list_id", "topics"]
_OPTIONAL = ["logo", "reply_to", "unsubscribe_mailto", "no_match", "outbox", "state_db", "smtp", "dkim",
             "connections", "rate", "envelope_from", "retry", "durability", "grace_seconds", "bounce_address",
             "bounces", "webhooks", "crossref_url", "doi_url", "crossref_mailto", "signup", "language"]


def _parse(r: Reader, node: YNode, root: Path) -> Settings | None:
    m = schema.mapping(r, node, "", _KEYS, _OPTIONAL)
    if m is None:
        return None
    name = _phrase(r, m.get("name"), "name")
    sender = _mailbox(r, m.get("from"), "from")
    reply_to = _mailbox(r, m.get("reply_to"), "reply_to") if "reply_to" in m else None
    postal = schema.text(r, m.get("postal_address"), "postal_address", single_line=True, max_len=300)
    base_url = schema.http_url(r, m.get("base_url"), "base_url", https_only=True)
    list_id = schema.text(r, m.get("list_id"), "list_id", single_line=True, max_len=200)
    if list_id and m.get("list_id") and not _LIST_ID.match(list_id):
        n = m["list_id"]
        r.problem(n.line, n.col, "list_id", f"'{list_id}' is not a list id (expected label.domain, "
                                            "e.g. digest.news.example.org)")
    mailto = None
    if "unsubscribe_mailto" in m:
        box = _mailbox(r, m["unsubscribe_mailto"], "unsubscribe_mailto")
        mailto = box.addr if box else None
    no_match = _choice(r, m, "no_match", ("skip", "full"))
    taxonomy = parse_taxonomy(r, m.get("topics"))
    outbox = Path(schema.text(r, m.get("outbox"), "outbox", single_line=True) or "outbox")
    state = Path(schema.text(r, m.get("state_db"), "state_db", single_line=True)
                 or "state/newsletter.sqlite3")
    smtp = _smtp(r, m["smtp"]) if "smtp" in m else None
    dkim = _dkim(r, m["dkim"], root) if "dkim" in m else None
    connections = _number(r, m.get("connections"), "connections", 4, 1, 64)
    per_second = per_hour = None
    if "rate" in m:
        rate = schema.mapping(r, m["rate"], "rate", [], ["per_second", "per_hour"]) or {}
        if "per_second" in rate:
            per_second = _number(r, rate["per_second"], "rate.per_second", 0, 0.001, 100_000)
        if "per_hour" in rate:
            per_hour = _number(r, rate["per_hour"], "rate.per_hour", 0, 1, 10_000_000)
    envelope = ""
    if "envelope_from" in m:
        box = _mailbox(r, m["envelope_from"], "envelope_from")
        envelope = box.addr if box else ""
    retry = _retry(r, m["retry"]) if "retry" in m else RetrySettings()
    durability = _choice(r, m, "durability", ("disk", "process"))
    grace = _number(r, m.get("grace_seconds"), "grace_seconds", Settings.grace_seconds, 0, 3600)
    language = _language(r, m.get("language"))
    logo = parse_logo(r, m["logo"]) if "logo" in m else None
    feedback = parse_feedback(r, m)
    registries = {key: (schema.http_url(r, m[key], key) or "").rstrip("/")
                  for key in ("crossref_url", "doi_url") if key in m}
    contact = _mailbox(r, m["crossref_mailto"], "crossref_mailto") if "crossref_mailto" in m else None
    signup = parse_signup(r, m["signup"]) if "signup" in m else SignupSettings()
    if r.errors or None in (name, sender, postal, base_url, list_id, taxonomy):
        return None
    assert name and sender and postal and base_url and list_id and taxonomy
    return Settings(
        root=root, name=name, sender=sender, reply_to=reply_to, postal_address=postal,
        base_url=base_url.rstrip("/"), list_id=list_id, unsubscribe_mailto=mailto,
        taxonomy=taxonomy, no_match=no_match, outbox=root / outbox, state_db=root / state,
        smtp=smtp, dkim=dkim, connections=int(connections), rate_per_second=per_second,
        rate_per_hour=per_hour, envelope_from=envelope or sender.addr, retry=retry,
        durability=durability, grace_seconds=grace, feedback=feedback, logo=logo, signup=signup, **registries,
        crossref_mailto=(contact or reply_to or sender).addr, language=language,
    )


def _retry(r: Reader, node: YNode) -> RetrySettings:
    d = RetrySettings()
    m = schema.mapping(r, node, "retry", [], ["defer_seconds", "max_defer_seconds", "max_attempts",
                                              "connect_retries", "backoff_seconds", "breaker_threshold"])
    if m is None:
        return d
    return RetrySettings(
        _number(r, m.get("defer_seconds"), "retry.defer_seconds", d.defer_seconds, 0, 86400),
        _number(r, m.get("max_defer_seconds"), "retry.max_defer_seconds", d.max_defer_seconds, 0, 604800),
        int(_number(r, m.get("max_attempts"), "retry.max_attempts", d.max_attempts, 1, 100)),
        int(_number(r, m.get("connect_retries"), "retry.connect_retries", d.connect_retries, 0, 100)),
        _number(r, m.get("backoff_seconds"), "retry.backoff_seconds", d.backoff_seconds, 0, 3600),
        int(_number(r, m.get("breaker_threshold"), "retry.breaker_threshold", d.breaker_threshold, 1, 10**6)),
    )


def _phrase(r: Reader, node: YNode | None, path: str) -> str | None:
    """The site's name: the List-Id phrase (RFC 2919) and the start of the default subject."""
    value = schema.text(r, node, path, single_line=True, max_len=100)
    if value is None or node is None:
        return None
    try:
        return single_spaced(check_header_value(value, "the site name"))
    except HeaderValueError as exc:
        r.problem(node.line, node.col, path, str(exc))
        return None


def _language(r: Reader, node: YNode | None) -> str:
    if node is None:
        return "en"
    value = schema.text(r, node, "language", single_line=True, max_len=35) or "en"
    if not _LANGUAGE.fullmatch(value):
        r.problem(node.line, node.col, "language", f"'{value}' is not a language tag (BCP 47, e.g. en, fr, "
                                                   "fr-CA, pt-BR, zh-Hant)")
    return value
_number = schema.number


def _choice(r: Reader, m: dict[str, YNode], key: str, allowed: tuple[str, str]) -> str:
    """One of two words; the first is the default when the key is absent."""
    node = m.get(key)
    if node is None:
        return allowed[0]
    value = schema.text(r, node, key, single_line=True) or allowed[0]
    if value not in allowed:
        r.problem(node.line, node.col, key, f"must be '{allowed[0]}' or '{allowed[1]}', got '{value}'")
    return value


def _mailbox(r: Reader, node: YNode | None, path: str) -> Mailbox | None:
    value = schema.text(r, node, path, single_line=True, max_len=300)
    if value is None or node is None:
        return None
    try:
        return parse_mailbox(value)
    except AddressError as exc:
        r.problem(node.line, node.col, path, str(exc))
        return None


def _smtp(r: Reader, node: YNode) -> SMTPSettings | None:
    m = schema.mapping(r, node, "smtp", ["host", "port", "security"],
                       ["username", "password_env", "timeout", "data_timeout", "pipelining"])
    if m is None:
        return None
    host = schema.text(r, m.get("host"), "smtp.host", single_line=True, max_len=255)
    port = int(_number(r, m.get("port"), "smtp.port", 587, 1, 65535))
    security = schema.text(r, m.get("security"), "smtp.security", single_line=True)
    if security is not None and security not in ("starttls", "tls"):
        n = m["security"]
        r.problem(n.line, n.col, "smtp.security",
                  f"must be 'starttls' or 'tls' (plaintext is never used), got '{security}'")
        security = None
    user = schema.text(r, m.get("username"), "smtp.username", single_line=True, required=False)
    pw_env = schema.text(r, m.get("password_env"), "smtp.password_env", single_line=True)
    timeout = _number(r, m.get("timeout"), "smtp.timeout", SMTPSettings.timeout, 0.1, 3600)
    data_timeout = _number(r, m.get("data_timeout"), "smtp.data_timeout", SMTPSettings.data_timeout, 0.1, 3600)
    pipelining = schema.text(r, m.get("pipelining"), "smtp.pipelining", single_line=True, required=False)
    if pipelining not in (None, "auto", "off"):
        n = m["pipelining"]
        r.problem(n.line, n.col, "smtp.pipelining", f"must be 'auto' (when the relay offers it) or 'off', "
                                                    f"got '{pipelining}'")
    if not host or not security:
        return None
    return SMTPSettings(host, port, security, user, pw_env or "NEWSLETTER_SMTP_PASSWORD",
                        timeout, data_timeout, pipelining != "off")


def _dkim(r: Reader, node: YNode, root: Path) -> DKIMSettings | None:
    m = schema.mapping(r, node, "dkim", ["selector", "domain", "key_file"], [])
    if m is None:
        return None
    sel = schema.text(r, m.get("selector"), "dkim.selector", single_line=True)
    dom = schema.text(r, m.get("domain"), "dkim.domain", single_line=True)
    key = schema.text(r, m.get("key_file"), "dkim.key_file", single_line=True)
    if not (sel and dom and key):
        return None
    return DKIMSettings(sel, dom.lower(), (root / key).resolve())
