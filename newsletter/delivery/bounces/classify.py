"""What a message in the bounce mailbox says, before we ask whom it is about.

In order: an RFC 3464 delivery status notification (`multipart/report;
report-type=delivery-status`: per-recipient Action and Status), an RFC 5965 feedback report
(`report-type=feedback-report`: a spam complaint), an RFC 3834 auto-reply or out-of-office (not
a bounce: never counted), then the non-standard bounces of older MTAs and big providers, read
by Mailman's heuristics (flufl.bounce). Anything else is not a bounce and is left alone.

Hard (the address is dead): Action failed with 5.1.x (bad mailbox, bad domain, syntax, moved,
null MX 5.1.10), 5.2.1 (mailbox disabled) or 5.4.4 (domain unroutable). Everything else that
failed is soft: 4.x.x, 5.2.2 (mailbox full), 5.7.x (policy: not the address's fault), 5.3.x,
5.5.x, 5.6.x. Where Status is only X.0.0 the enhanced code in Diagnostic-Code decides; with no
enhanced code at all (or only X.0.0), the SMTP reply 550/551/553 is hard, as for replies during
sending.
`Action: delayed` and positive DSNs (delivered, relayed, expanded) are not bounces.
"""

from __future__ import annotations

import email
import email.utils
import re
from collections.abc import Iterator
from dataclasses import dataclass
from email.header import decode_header, make_header
from email.message import Message
from email.parser import HeaderParser
from enum import StrEnum

import flufl.bounce

MAX_BLOCKS = 200  # recipient blocks read from one report


class Kind(StrEnum):
    """What a message (or one recipient block in it) reports."""

    HARD = "hard"
    SOFT = "soft"
    COMPLAINT = "complaint"
    DELAYED = "delayed"
    DELIVERED = "delivered"
    AUTO_REPLY = "auto-reply"
    OTHER = "other"


_RANK = [Kind.OTHER, Kind.AUTO_REPLY, Kind.DELIVERED, Kind.DELAYED, Kind.SOFT, Kind.HARD, Kind.COMPLAINT]
COMPLAINT_TYPES = frozenset({"abuse", "fraud", "virus", "other"})  # RFC 5965 §7.3; not-spam etc. are not


class Malformed(Exception):
    """The message cannot be read as what it claims to be (or is too large); it is skipped."""


@dataclass(frozen=True)
class Finding:
    """One recipient's fate: `address` as the report gives it ('' if redacted), `status` an
    RFC 3463 code or a feedback type, `detail` the diagnostic text (at most 300 characters)."""

    kind: Kind
    address: str
    status: str
    detail: str


@dataclass(frozen=True)
class Report:
    """A classified message: its strongest `kind`, how it was read ('dsn', 'arf', 'heuristic',
    'auto-reply' or ''), every finding, and the parsed message."""

    kind: Kind
    how: str
    findings: tuple[Finding, ...]
    message: Message

    @property
    def main(self) -> Finding | None:
        """The finding that decides (the strongest kind), None if there is none."""
        best = [f for f in self.findings if f.kind == self.kind]
        return best[0] if best else None


def classify(data: bytes, *, max_bytes: int) -> Report:
    """Classify one raw message. Raises Malformed for an oversize message or a report whose
    structure cannot be read."""
    if len(data) > max_bytes:
        raise Malformed(f"{len(data):,} bytes, over the {max_bytes:,}-byte limit (bounces.max_message_bytes)")
    try:
        msg = email.message_from_bytes(data)
        return _classify(msg)
    except (RecursionError, LookupError, ValueError, TypeError, AttributeError) as exc:
        raise Malformed(f"cannot be parsed ({type(exc).__name__})") from None


def _classify(msg: Message) -> Report:
    rtype = str(msg.get_param("report-type", "", header="content-type") or "").lower()
    declared = msg.get_content_type() == "multipart/report"
    types = {p.get_content_type() for p in _parts(msg)}
    if rtype == "feedback-report" or "message/feedback-report" in types:
        return _arf(msg)
    if rtype == "disposition-notification" or "message/disposition-notification" in types:
        return Report(Kind.AUTO_REPLY, "auto-reply", (), msg)  # a read receipt (RFC 8098)
    if rtype.endswith("delivery-status") or types & {"message/delivery-status", "message/global-delivery-status"}:
        findings = tuple(_dsn_findings(msg))
        if findings:
            return _report(findings, "dsn", msg)
    if _auto_reply(msg) and not _from_mail_system(msg):
        return Report(Kind.AUTO_REPLY, "auto-reply", (), msg)
    findings = tuple(_heuristic_findings(msg))
    if findings:
        return _report(findings, "heuristic", msg)
    if _auto_reply(msg):
        return Report(Kind.AUTO_REPLY, "auto-reply", (), msg)
    if declared and rtype.endswith("delivery-status"):
        raise Malformed("a delivery report without any per-recipient Action/Status fields")
    return Report(Kind.OTHER, "", (), msg)


def _report(findings: tuple[Finding, ...], how: str, msg: Message) -> Report:
    kind = max((f.kind for f in findings), key=_RANK.index)
    return Report(kind, how, findings, msg)


def _parts(msg: Message) -> Iterator[Message]:
    for i, part in enumerate(msg.walk()):
        if i > 500:
            raise Malformed("more than 500 MIME parts")
        yield part


# -- RFC 3464 ----------------------------------------------------------------------------------
_ENHANCED = re.compile(r"(?<![\d.])([245])\.(\d{1,3})\.(\d{1,3})(?![\d.])")
_REPLY = re.compile(r"(?<!\d)([45]\d\d)(?!\d)")


def _dsn_findings(msg: Message) -> Iterator[Finding]:
    for n, block in enumerate(_status_blocks(msg)):
        if n >= MAX_BLOCKS:
            return
        action = (block.get("Action") or "").strip().lower()
        rcpt = block.get("Original-Recipient") or block.get("Final-Recipient") or block.get("X-Actual-Recipient")
        if not action or rcpt is None:
            continue  # the per-message block, or a block without a recipient
        status = _ENHANCED.search(str(block.get("Status") or ""))
        diag = " ".join(str(block.get("Diagnostic-Code") or "").split())
        diag = diag.split(";", 1)[1].strip() if diag.lower().startswith(("smtp;", "x-")) else diag
        code = _effective_code(status.group(0) if status else "", diag)
        kind = _severity(action, code, diag)
        if kind is not None:
            yield Finding(kind, _address(str(rcpt)), code, diag[:300])


def _status_blocks(msg: Message) -> Iterator[Message]:
    """The header blocks of every message/(global-)delivery-status part."""
    for part in _parts(msg):
        if part.get_content_type() not in ("message/delivery-status", "message/global-delivery-status"):
            continue
        payload = part.get_payload()
        if isinstance(payload, str):
            yield from _text_blocks(payload)
            continue
        for block in payload:
            if not isinstance(block, Message):
                continue
            yield block
            rest = block.get_payload()
            if isinstance(rest, str) and rest.strip():  # global-delivery-status: parsed as one message
                yield from _text_blocks(rest)


def _text_blocks(text: str) -> Iterator[Message]:
    for chunk in re.split(r"\r?\n\s*\r?\n", text.strip())[:MAX_BLOCKS]:
        yield HeaderParser().parsestr(chunk.strip() + "\n")


def _effective_code(status: str, diag: str) -> str:
    """Status, unless it only says X.0.0 (or nothing): then the enhanced code in the diagnostic
    text, when it is of the same class."""
    if status and not status.endswith(".0.0"):
        return status
    found = _ENHANCED.search(diag)
    return found.group(0) if found and (not status or found.group(1) == status[0]) else status


def _severity(action: str, code: str, diag: str) -> Kind | None:
    """The kind for an Action word and an (effective) RFC 3463 code; see the module docstring."""
    if action.startswith("delayed"):
        return Kind.DELAYED
    if action.startswith(("delivered", "relayed", "expanded")):
        return Kind.DELIVERED
    if not action.startswith(("fail", "error")):  # "error": opensmtpd's non-standard word
        return None
    if code and not code.endswith(".0.0"):
        cls, subject, _ = code.split(".")
        if cls == "5" and (subject == "1" or code in ("5.2.1", "5.4.4")):
            return Kind.HARD
        return Kind.SOFT
    reply = _REPLY.search(diag)
    return Kind.HARD if reply and reply.group(1) in ("550", "551", "553") else Kind.SOFT


def _address(value: str) -> str:
    """'rfc822; <Ben@Example.com>' → 'Ben@Example.com'."""
    addr = value.split(";", 1)[-1].strip().strip("<>").strip()
    return addr if "@" in addr and len(addr) <= 320 and not any(c.isspace() for c in addr) else ""


# -- RFC 5965 ----------------------------------------------------------------------------------
def _arf(msg: Message) -> Report:
    part = next((p for p in _parts(msg) if p.get_content_type() == "message/feedback-report"), None)
    if part is None:
        raise Malformed("a feedback report without its message/feedback-report part")
    payload = part.get_payload()
    first = payload[0] if isinstance(payload, list) and payload else None
    fields = first if isinstance(first, Message) else HeaderParser().parsestr(str(payload))
    ftype = str(fields.get("Feedback-Type") or "").strip().lower()
    if not ftype:
        raise Malformed("a feedback report without Feedback-Type")
    rcpt = _address(str(fields.get("Original-Rcpt-To") or ""))
    detail = " ".join(f"{k}: {fields.get(k)}" for k in ("User-Agent", "Source-IP") if fields.get(k))[:300]
    kind = Kind.COMPLAINT if ftype in COMPLAINT_TYPES else Kind.OTHER
    return Report(kind, "arf", (Finding(kind, rcpt, ftype, detail),), msg)


# -- auto-replies (RFC 3834) and the heuristics for everything else --------------------------------
_AUTO_SUBJECT = re.compile(
    r"^\s*(auto(matic)?[ -]?(reply|response|respond|antwort)|out of (the )?office|autoreply|auto:|"
    r"abwesenheit|réponse automatique|respuesta automática|risposta automatica|automatisch antwoord|"
    r"autosvar|fuera de la oficina|absence)", re.IGNORECASE)
_MAIL_SYSTEM = re.compile(r"^(mailer-daemon|mail-daemon|mailerdaemon|postmaster|mdaemon|"
                          r"microsoftexchange[0-9a-f]*)@", re.IGNORECASE)


def _auto_reply(msg: Message) -> bool:
    auto = str(msg.get("Auto-Submitted") or "").strip().lower()
    if auto and not auto.startswith("no"):
        return True
    if any(msg.get(h) is not None for h in ("X-Autoreply", "X-Autorespond", "X-Autoresponder")):
        return True
    if str(msg.get("Precedence") or msg.get("X-Precedence") or "").strip().lower() == "auto_reply":
        return True
    return bool(_AUTO_SUBJECT.match(_decoded(msg.get("Subject"))))


def _decoded(value: object) -> str:
    """A header's text with RFC 2047 encoded-words decoded ('' when it cannot be)."""
    try:
        return str(make_header(decode_header(str(value or ""))))
    except (ValueError, LookupError, UnicodeError):
        return str(value or "")


def _from_mail_system(msg: Message) -> bool:
    addr = email.utils.parseaddr(str(msg.get("From") or ""))[1]
    return bool(_MAIL_SYSTEM.match(addr)) or "mail delivery" in str(msg.get("From") or "").lower()


def _heuristic_findings(msg: Message) -> Iterator[Finding]:
    try:
        temporary, permanent = flufl.bounce.all_failures(msg)
    except Exception:  # noqa: BLE001 - a detector choking on odd input means "not recognised"
        return
    text = _body_text(msg)
    for raw, default in [(a, Kind.SOFT) for a in sorted(temporary)] + [(a, Kind.HARD) for a in sorted(permanent)]:
        addr = raw.decode("ascii", "replace")
        near = _near(text, addr)
        code = _effective_code("", near)
        reply = _REPLY.search(near)
        if code:  # an enhanced code beside the address decides; a bare 4xx reply means soft
            kind = _severity("failed", code, near) or default
        else:
            kind = Kind.SOFT if reply and reply.group(1)[0] == "4" else default
        yield Finding(kind, addr, code, " ".join(near.split())[:300])


def _body_text(msg: Message) -> str:
    out = []
    for part in _parts(msg):
        if part.get_content_maintype() == "text":
            raw = part.get_payload(decode=True)
            if isinstance(raw, bytes):
                out.append(raw.decode("utf-8", "replace"))
    return "\n".join(out)[:200_000]


def _near(text: str, addr: str) -> str:
    """The text just after the first mention of `addr` (where MTAs put the server's reply)."""
    i = text.lower().find(addr.lower())
    return text[i + len(addr): i + len(addr) + 400] if i >= 0 else ""
