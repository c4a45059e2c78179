"""A real IMAP/POP3 server for the tests: Debian's Dovecot with a throw-away configuration.

Implicit TLS only (IMAPS, POP3S) with a certificate from the tests' private CA (trustme), one
passwd-file user, Maildir storage, on free loopback ports. Run as root, mail is kept by the
unprivileged `nobody` (Dovecot refuses to access mail as root); otherwise by the current user.
"""

from __future__ import annotations

import hashlib
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
USER, PASSWORD = "bounces@news.example.org", "test-mailbox-password-0123"

CONFIG = """\
base_dir = {d}/run
state_dir = {d}/state
log_path = {d}/dovecot.log
protocols = imap pop3
listen = 127.0.0.1
ssl = required
ssl_cert = <{d}/cert.pem
ssl_key = <{d}/key.pem
ssl_min_protocol = TLSv1.2
disable_plaintext_auth = yes
auth_mechanisms = plain
default_internal_user = {login_user}
default_login_user = {login_user}
first_valid_uid = {uid}
last_valid_uid = 0
first_valid_gid = {gid}
mail_location = maildir:{d}/home/%n/Maildir
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {d}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={d}/home/%n
}}
service imap-login {{
  inet_listener imap {{
    port = 0
  }}
  inet_listener imaps {{
    port = {imaps}
    ssl = yes
  }}
}}
service pop3-login {{
  inet_listener pop3 {{
    port = 0
  }}
  inet_listener pop3s {{
    port = {pop3s}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
}}
service imap-login {{
  chroot =
}}
service pop3-login {{
  chroot =
}}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Dovecot:
    dir: Path
    imaps: int
    pop3s: int
    proc: subprocess.Popen[bytes]

    @property
    def env(self) -> dict[str, str]:
        return {"NEWSLETTER_BOUNCES_USER": USER, "NEWSLETTER_BOUNCES_PASSWORD": PASSWORD}

    def log(self) -> str:
        path = self.dir / "dovecot.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
        shutil.rmtree(self.dir, ignore_errors=True)


def start_dovecot(cert_pem: bytes, key_pem: bytes) -> Dovecot:
    """Start Dovecot; raises RuntimeError with the reason if it cannot."""
    if not os.path.exists(DOVECOT):
        raise RuntimeError("dovecot is not installed (Debian: dovecot-imapd dovecot-pop3d; .ci/run installs them)")
    d = Path(tempfile.mkdtemp(prefix="nl-dovecot-"))
    if os.geteuid() == 0:
        owner = pwd.getpwnam("nobody")
        uid, gid, login_user = owner.pw_uid, owner.pw_gid, "dovenull"
        try:
            pwd.getpwnam(login_user)
        except KeyError:
            login_user = "nobody"
    else:
        uid, gid = os.getuid(), os.getgid()
        login_user = pwd.getpwuid(uid).pw_name
    for sub in ("run", "state", "home"):
        (d / sub).mkdir()
    (d / "cert.pem").write_bytes(cert_pem)
    (d / "key.pem").write_bytes(key_pem)
    os.chmod(d / "key.pem", 0o600)
    (d / "passwd").write_text(f"{USER}:{{PLAIN}}{PASSWORD}::::::\n")
    imaps, pop3s = free_port(), free_port()
    (d / "dovecot.conf").write_text(CONFIG.format(d=d, uid=uid, gid=gid, login_user=login_user,
                                                  imaps=imaps, pop3s=pop3s))
    os.chmod(d, 0o755)
    os.chown(d / "home", uid, gid)
    proc = subprocess.Popen([DOVECOT, "-F", "-c", str(d / "dovecot.conf")], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    server = Dovecot(d, imaps, pop3s, proc)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            out = proc.stdout.read().decode(errors="replace") if proc.stdout else ""
            log = server.log()
            shutil.rmtree(d, ignore_errors=True)
            raise RuntimeError(f"dovecot exited with {proc.returncode}: {out.strip()} {log.strip()}"[:1500])
        try:
            with socket.create_connection(("127.0.0.1", imaps), timeout=0.5), \
                    socket.create_connection(("127.0.0.1", pop3s), timeout=0.5):
                return server
        except OSError:
            time.sleep(0.1)
    server.stop()
    raise RuntimeError("dovecot did not start listening within 15 s")


class Mailbox:
    """The test user's mailbox, driven over IMAPS (to put messages in and look at them)."""

    def __init__(self, server: Dovecot, ca_file: Path) -> None:
        self.server, self.ca_file = server, ca_file

    @property
    def imaps(self) -> str:
        return f"imaps://127.0.0.1:{self.server.imaps}/INBOX"

    @property
    def pop3s(self) -> str:
        return f"pop3s://127.0.0.1:{self.server.pop3s}"

    def client(self):  # type: ignore[no-untyped-def]
        import ssl

        import imapclient

        ctx = ssl.create_default_context(cafile=str(self.ca_file))
        c = imapclient.IMAPClient("127.0.0.1", port=self.server.imaps, ssl=True, ssl_context=ctx, timeout=10)
        c.login(USER, PASSWORD)
        return c

    def append(self, *messages: bytes, folder: str = "INBOX") -> None:
        c = self.client()
        try:
            for m in messages:
                c.append(folder, m)
        finally:
            c.logout()

    def flags(self, folder: str = "INBOX") -> list[tuple[bytes, ...]]:
        """The flags of each message in the folder, in order."""
        c = self.client()
        try:
            c.select_folder(folder, readonly=True)
            uids = c.search(["ALL"])
            got = c.fetch(uids, ["FLAGS"]) if uids else {}
            return [tuple(sorted(got[u][b"FLAGS"])) for u in uids]
        finally:
            c.logout()

    def count(self, folder: str = "INBOX") -> int:
        return len(self.flags(folder))

    def empty(self) -> None:
        c = self.client()
        try:
            for _, _, name in c.list_folders():
                c.select_folder(name)
                uids = c.search(["ALL"])
                if uids:
                    c.delete_messages(uids)
                    c.expunge()
            for _, _, name in c.list_folders():
                if name != "INBOX":
                    c.delete_folder(name)
        finally:
            c.logout()


CORPUS = Path(__file__).resolve().parent / "bounces"
SAMPLE_READER = "ben@example.com"


def personalise(name: str, *, address: str = SAMPLE_READER, token: str = "k1.202104.aaaaaaaaaaaaaaa.aaaaaaaaaaaaa",
                sid: str = "AAAAAAAAAAAA", utoken: str = "t1.AAAAAAAAAAAA.AAAAAAAAAAAAAAAA",
                issue: str = "2021-04", envelope: str | None = None) -> bytes:
    """A corpus sample about `address` (its placeholders filled): the VERP token, subscriber id,
    unsubscribe token and issue of a real send. `envelope` replaces the whole VERP address (the
    plain envelope sender when no bounce_address is configured)."""
    text = (CORPUS / name).read_bytes().decode("utf-8")
    if envelope is not None:
        text = text.replace("bounces+__TOKEN__@news.example.org", envelope)
    text = text.replace("__TOKEN__", token).replace("__SID__", sid).replace("__UTOKEN__", utoken)
    text = text.replace("<2021-04.", f"<{issue}.").replace(SAMPLE_READER, address)
    if address != SAMPLE_READER:  # each mail system's report has its own Message-ID
        tag = hashlib.sha256(f"{address}|{issue}|{token}".encode()).hexdigest()[:10]
        text = re.sub(r"(?im)^(Message-I[Dd]:\s*<)", rf"\g<1>{tag}.", text, count=1)
    return text.encode("utf-8")
