"""tokens: HMAC-signed, purpose- and list-bound subscriber tokens with key ids for rotation."""

from __future__ import annotations

import hmac
import os
import stat
from pathlib import Path

import pytest

from newsletter.mail import tokens
from newsletter.mail.tokens import ENV, KeyError_, TokenKeys, load_keys, parse_keys
from newsletter.store.ledger import new_sid

LIST = "digest.news.example.org"
OLD = "old:old-secret-0123456789abcdef"
NEW = "new:new-secret-fedcba9876543210"


def keys(spec: str = NEW, list_id: str = LIST) -> TokenKeys:
    return TokenKeys(parse_keys(spec), list_id)


def flip(token: str, i: int) -> str:
    """The token with character i replaced by another character of the same alphabet."""
    c = token[i]
    if c == ".":
        return token
    repl = "B" if c != "B" else "C"
    return token[:i] + repl + token[i + 1:]


def test_round_trip_and_shape() -> None:
    k = keys()
    sid = new_sid()
    t = k.sign(sid, "u")
    kid, s, mac = t.split(".")
    assert (kid, s) == ("new", sid) and len(mac) == 16
    assert k.verify(t, "u") == sid
    assert len(f"https://news.example.org/u/{t}") < 75  # STANDARDS §7.4: short URLs
    assert t == k.sign(sid, "u")  # deterministic: the same link in every message


def test_sid_reveals_nothing_about_the_address() -> None:
    sids = {new_sid() for _ in range(1000)}
    assert len(sids) == 1000 and all(len(s) == 12 for s in sids)


def test_purpose_binding() -> None:
    k = keys()
    sid = new_sid()
    assert k.verify(k.sign(sid, "u"), "p") is None
    assert k.verify(k.sign(sid, "p"), "u") is None
    assert k.sign(sid, "u") != k.sign(sid, "p")


def test_list_binding() -> None:
    sid = new_sid()
    other = keys(list_id="other.example.org").sign(sid, "u")
    assert keys().verify(other, "u") is None


def test_every_single_character_change_is_rejected() -> None:
    k = keys()
    sid = new_sid()
    t = k.sign(sid, "u")
    changed = {flip(t, i) for i in range(len(t))} - {t}
    assert len(changed) == len(t) - 2  # every position but the two dots
    for bad in changed:
        assert k.verify(bad, "u") is None, bad


def test_bit_flips_in_the_mac_bytes_are_rejected() -> None:
    import base64

    k = keys()
    t = k.sign(new_sid(), "u")
    kid, sid, mac = t.split(".")
    raw = base64.urlsafe_b64decode(mac + "==")
    for bit in range(len(raw) * 8):
        b = bytearray(raw)
        b[bit // 8] ^= 1 << (bit % 8)
        forged = f"{kid}.{sid}.{base64.urlsafe_b64encode(bytes(b)).rstrip(b'=').decode()}"
        assert k.verify(forged, "u") is None


@pytest.mark.parametrize("make", [
    lambda t: t[:-1],  # truncated
    lambda t: t[:-8],
    lambda t: t.rsplit(".", 1)[0],  # MAC missing
    lambda t: t + "A",  # extended
    lambda t: t.replace(".", "", 1),
    lambda t: "",
    lambda t: "x" * 2000,
    lambda t: t + "\n",  # "$" alone would accept this
    lambda t: " " + t,
    lambda t: t.upper(),
    lambda t: "zz" + t[t.index("."):],  # unknown key id
    lambda t: t.split(".")[0] + "." + new_sid() + "." + t.split(".")[2],  # MAC moved to another sid
])
def test_malformed_and_forged_tokens(make) -> None:  # type: ignore[no-untyped-def]
    k = keys()
    t = k.sign(new_sid(), "u")
    assert k.verify(make(t), "u") is None


def test_forged_with_a_guessed_key_is_rejected() -> None:
    sid = new_sid()
    forged = keys("new:attacker-guess-0000000000").sign(sid, "u")
    assert keys().verify(forged, "u") is None


def test_comparison_is_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(tokens.hmac, "compare_digest", spy)
    k = keys()
    t = k.sign(new_sid(), "u")
    assert k.verify(t, "u") and k.verify(flip(t, len(t) - 1), "u") is None
    assert len(calls) == 2  # both answers came from hmac.compare_digest, not ==


def test_rotation_old_tokens_work_while_the_old_key_is_listed() -> None:
    sid = new_sid()
    old_token = keys(OLD).sign(sid, "u")
    rotated = keys(f"{NEW},{OLD}")
    assert rotated.current == "new"
    assert rotated.sign(sid, "u").startswith("new.")  # new messages use the new key
    assert rotated.verify(old_token, "u") == sid  # old messages keep working
    assert keys(NEW).verify(old_token, "u") is None  # until the old key is removed


def test_same_kid_with_a_new_secret_breaks_old_tokens() -> None:
    sid = new_sid()
    t = keys("k1:first-secret-0123456789ab").sign(sid, "u")
    assert keys("k1:second-secret-0123456789a").verify(t, "u") is None


@pytest.mark.parametrize("spec", ["", "nokid", "k1:short", ":x" * 10, "toolongkid:0123456789abcdef0",
                                  "k-1:0123456789abcdef", "k1:0123456789abcdef,broken"])
def test_bad_key_specs(spec: str) -> None:
    with pytest.raises(KeyError_) as e:
        parse_keys(spec)
    assert "0123456789abcdef" not in str(e.value)  # a secret never appears in the message


def test_env_keys_win_over_the_key_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV, f"{NEW},{OLD}")
    k = load_keys(LIST, tmp_path / "token-keys")
    assert list(k.keys) == ["new", "old"]
    assert not (tmp_path / "token-keys").exists()


def test_key_file_created_once_private(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV, raising=False)
    path = tmp_path / "state" / "token-keys"
    a = load_keys(LIST, path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    b = load_keys(LIST, path)
    sid = new_sid()
    assert b.verify(a.sign(sid, "u"), "u") == sid  # the same key on the next run


def test_key_file_readable_by_others_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV, raising=False)
    path = tmp_path / "token-keys"
    load_keys(LIST, path)
    os.chmod(path, 0o644)
    with pytest.raises(KeyError_, match="chmod 600"):
        load_keys(LIST, path)


def test_expiring_tokens() -> None:
    from newsletter.mail.tokens import TokenKeys, parse_keys

    keys = TokenKeys(parse_keys("k1:0123456789abcdef0123"), "digest.example.org")
    t = keys.sign_expiring("AbCdEfGhIjKl", "c", 2_000_000_000)
    signed = keys.verify_expiring(t, "c")
    assert signed is not None and signed.value == "AbCdEfGhIjKl" and not signed.expired(1_999_999_999)
    assert signed.expired(2_000_000_000)
    kid, rid, exp, mac = t.split(".")
    assert keys.verify_expiring(f"{kid}.{rid}.{int(exp) + 1}.{mac}", "c") is None  # expiry is signed
    assert keys.verify_expiring(t, "u") is None and keys.verify(t, "c") is None
    assert keys.verify_expiring(keys.sign("AbCdEfGhIjKl", "c"), "c") is None
    assert keys.verify_expiring(t + "\n", "c") is None
