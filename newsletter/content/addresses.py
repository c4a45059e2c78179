"""E-mail address validation and normalisation (email-validator + RFC 5321 limits)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .headers import HeaderValueError, check_header_value, single_spaced

_MAILBOX = re.compile(r"^\s*(?:(?P<name>[^<>]*?)\s*<(?P<addr>[^<>]+)>|(?P<bare>[^<>\s]+))\s*$")


class AddressError(ValueError):
    pass


@dataclass(frozen=True)
class Mailbox:
    name: str
    addr: str  # local@domain with the domain as an IDNA 2008 A-label
    smtputf8: bool = False

    @property
    def key(self) -> str:
        return address_key(self.addr)


def address_key(addr: str) -> str:
    """Identity of a normalised address: case-folded local part, lower-case A-label domain
    (RFC 5321 §2.4 allows case-sensitive local parts but discourages relying on it)."""
    local, _, domain = addr.rpartition("@")
    return f"{local.casefold()}@{domain.lower()}"


# Plain ASCII dot-atom addresses with ordinary host names are by far the common case; for them
# email-validator's full analysis gives the same answer, so it is skipped (a test proves the
# two agree). Everything else goes through email-validator.
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)"
_SIMPLE = re.compile(rf"^{_ATOM}(?:\.{_ATOM})*@(?:{_LABEL}\.)+[A-Za-z]{{2,63}}$")
_SPECIAL_USE = (".arpa", ".invalid", ".local", ".localhost", ".onion", ".test", ".internal",
                ".home.arpa", ".lan", ".example")


def _simple(value: str) -> str | None:
    if len(value) > 254 or not _SIMPLE.fullmatch(value):  # not match: `$` allows a final "\n"
        return None
    local, _, domain = value.rpartition("@")
    domain = domain.lower()
    # "--" covers Punycode (xn--) and the other hyphens in positions 3-4 that IDNA 2008 refuses
    if len(local) > 64 or len(domain) > 253 or domain.endswith(_SPECIAL_USE) or "--" in domain:
        return None
    return f"{local}@{domain}"


def normalize_address(value: str) -> tuple[str, bool]:
    """Return (address with A-label domain, needs SMTPUTF8) or raise AddressError."""
    fast = _simple(value)
    if fast is not None:
        return fast, False
    try:
        check_header_value(value, "address")
    except HeaderValueError as exc:
        raise AddressError(str(exc)) from None
    # imported here: its regexes take ~25 ms to compile, and the fast path above needs none
    from email_validator import EmailNotValidError, validate_email

    try:
        info = validate_email(value, check_deliverability=False, allow_smtputf8=True)
    except EmailNotValidError as exc:
        raise AddressError(f"invalid e-mail address '{value}': {exc}") from None
    local = info.local_part
    if len(local.encode()) > 64:
        raise AddressError(f"invalid e-mail address '{value}': the part before the @ is "
                           f"{len(local.encode())} octets; RFC 5321 allows at most 64")
    addr = f"{local}@{info.ascii_domain}"
    if len(addr.encode()) > 254:
        raise AddressError(f"invalid e-mail address '{value}': longer than 254 octets")
    return addr, bool(info.smtputf8)


def parse_mailbox(value: str) -> Mailbox:
    """Parse `Name <addr>` or a bare address."""
    try:
        check_header_value(value, "address")
    except HeaderValueError as exc:
        raise AddressError(str(exc)) from None
    m = _MAILBOX.match(value)
    if not m:
        raise AddressError(f"expected 'Name <address>' or an address, got '{value}'")
    name = single_spaced((m.group("name") or "").strip().strip('"'))
    addr, utf8 = normalize_address((m.group("addr") or m.group("bare")).strip())
    return Mailbox(name, addr, utf8)
