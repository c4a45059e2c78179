"""A second, independent reader of finished messages: Perl's Email::MIME (Debian's
libemail-mime-perl, installed by .ci/run), driven through one long-lived `tests/mailparse.pl`
process so that a property test can ask it about hundreds of messages in a second."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

SCRIPT = Path(__file__).with_name("mailparse.pl")


@dataclass(frozen=True)
class Reading:
    """What Email::MIME made of a message: decoded Subject, (phrase, address) of the mailbox
    fields, the List-Id phrase, and the decoded leaf parts as (content type, text)."""

    subject: str | None
    from_: list[tuple[str, str]]
    reply_to: list[tuple[str, str]]
    to: list[tuple[str, str]]
    list_id_phrase: str | None
    parts: list[tuple[str, str]]

    def part(self, content_type: str) -> str:
        return next(text for ctype, text in self.parts if ctype.split(";")[0].strip() == content_type)


class EmailMIME:
    def __init__(self) -> None:
        self._p = subprocess.Popen(["perl", str(SCRIPT)], stdin=subprocess.PIPE, stdout=subprocess.PIPE)

    def read(self, raw: bytes) -> Reading:
        assert self._p.stdin is not None and self._p.stdout is not None
        self._p.stdin.write(b"%d\n" % len(raw) + raw)
        self._p.stdin.flush()
        out: dict[str, Any] = json.loads(self._p.stdout.readline())
        if "error" in out:
            raise AssertionError(f"Email::MIME could not read the message: {out['error']}")

        def boxes(key: str) -> list[tuple[str, str]]:
            return [(p, a) for p, a in out.get(key) or []]

        lid = boxes("list_id")
        return Reading(out.get("subject"), boxes("from"), boxes("reply-to"), boxes("to"),
                       lid[0][0] if lid else None, [(c, t) for c, t in out["parts"]])

    def close(self) -> None:
        if self._p.stdin:
            self._p.stdin.close()
        self._p.wait(10)


@pytest.fixture(scope="session")
def email_mime() -> Iterator[EmailMIME]:
    """The Perl reader; fails (never skips) when Email::MIME is missing: `bash .ci/run` installs it."""
    ok = shutil.which("perl") and subprocess.run(["perl", "-MEmail::MIME", "-e1"], capture_output=True,
                                                 check=False).returncode == 0
    if not ok:
        pytest.fail("Perl's Email::MIME is missing: `apt-get install libemail-mime-perl` (bash .ci/run does)")
    reader = EmailMIME()
    yield reader
    reader.close()
