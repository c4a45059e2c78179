"""Optional DKIM signing of the final bytes (dkimpy), covering the list headers."""

from __future__ import annotations

from collections.abc import Callable

import dkim

from ..content.config import DKIMSettings
from ..errors import UsageError

# RFC 6376 §5.4.1 plus List-Unsubscribe-Post (RFC 8058 §4 requires it; dkimpy omits it by
# default). Names repeated once more are oversigned: a second instance breaks the signature.
SIGNED = [b"from", b"to", b"subject", b"date", b"message-id", b"reply-to", b"mime-version",
          b"content-type", b"list-id", b"list-unsubscribe", b"list-unsubscribe-post",
          b"from", b"to", b"subject", b"date", b"message-id", b"list-unsubscribe",
          b"list-unsubscribe-post"]


def load_signer(cfg: DKIMSettings) -> Callable[[bytes], bytes]:
    try:
        st = cfg.key_file.stat()
        if st.st_mode & 0o077:
            raise UsageError(f"{cfg.key_file}: the DKIM key must not be readable by others (chmod 600)")
        key = cfg.key_file.read_bytes()
    except OSError as exc:
        raise UsageError(f"dkim.key_file: cannot read {cfg.key_file}: {exc.strerror}") from None
    selector, domain = cfg.selector.encode(), cfg.domain.encode()

    def sign(raw: bytes) -> bytes:
        sig = dkim.sign(raw, selector, domain, key, canonicalize=(b"relaxed", b"relaxed"),
                        include_headers=SIGNED)
        return bytes(sig) + raw

    try:
        sign(b"From: a@example.org\r\nSubject: probe\r\n\r\nprobe\r\n")
    except Exception as exc:  # noqa: BLE001 - dkimpy raises several unrelated types for a bad key
        raise UsageError(f"dkim.key_file: {cfg.key_file} is not a usable private key ({exc})") from None
    return sign
