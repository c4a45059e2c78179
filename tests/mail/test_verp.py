"""VERP tokens: short, lower case, signed; they name (issue, subscriber) and nothing else."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from newsletter.content.feedback import MAX_BOUNCE_LOCAL
from newsletter.mail.tokens import TokenKeys
from newsletter.mail.verp import MAX_TOKEN, Verp, VerpTarget
from newsletter.store.ledger import new_sid

KEYS = TokenKeys({"K7": b"a-secret-for-verp-tests-0123", "old": b"an-older-secret-0123456"}, "digest.news.example.org")


def test_address_shape_and_round_trip() -> None:
    v = Verp("bounces@news.example.org", KEYS)
    sid = new_sid()
    addr = v.address("2021-04", sid)
    local, domain = addr.split("@")
    assert domain == "news.example.org" and local.startswith("bounces+") and len(local) <= 64
    assert addr == addr.lower() and sid not in addr  # nothing case-dependent; the stored id is not shown
    assert re.fullmatch(r"bounces\+k7\.202104\.[a-z2-7]{15}\.[a-z2-7]{13}", local)
    assert v.find(f"To: <{addr}>").genuine == (VerpTarget("2021-04", sid),)
    assert v.find(f"Delivered-To: {addr.upper()}").genuine == (VerpTarget("2021-04", sid),)  # case folded


def test_longest_token_fits_the_limit() -> None:
    keys = TokenKeys({"abcdefgh": b"0123456789abcdef"}, "digest.news.example.org")
    token = Verp("b@x.example.org", keys).token("2021-04", new_sid())
    assert len(token) == MAX_TOKEN == 64 - 1 - MAX_BOUNCE_LOCAL


def test_old_keys_still_verify() -> None:
    sid = new_sid()
    old = Verp("bounces@news.example.org", TokenKeys({"old": KEYS.keys["old"]}, KEYS.list_id))
    addr = old.address("2020-12", sid)
    assert Verp("bounces@news.example.org", KEYS).find(addr).genuine == (VerpTarget("2020-12", sid),)


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 44), st.sampled_from("abcdefghijklmnopqrstuvwxyz234567."))
def test_any_changed_character_is_forged(pos: int, ch: str) -> None:
    v = Verp("bounces@news.example.org", KEYS)
    sid = "AbCdEfGhIjKl"
    token = v.token("2021-04", sid)
    pos %= len(token)
    changed = token[:pos] + ch + token[pos + 1:]
    found = v.find(f"bounces+{changed}@news.example.org")
    if changed == token:
        assert found.genuine
    else:
        assert found.genuine == () and found.forged == 1


def test_other_list_or_issue_does_not_verify() -> None:
    sid = new_sid()
    other = Verp("bounces@news.example.org", TokenKeys(KEYS.keys, "other.news.example.org"))
    token = other.token("2021-04", sid)
    v = Verp("bounces@news.example.org", KEYS)
    assert v.verify(token) is None
    forged_issue = token.replace(".202104.", ".202105.")
    assert v.verify(forged_issue) is None
    found = v.find(f"x bounces+garbage@news.example.org bounces+{token}@news.example.org bounces@news.example.org")
    assert found.genuine == () and found.forged == 2  # the bare address is not a token at all
