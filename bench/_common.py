"""Shared pieces of the benchmark suite: throw-away projects, subscriber lists, the SMTP sink,
memory and CPU readings, and the machine description for RESULTS.md."""

from __future__ import annotations

import json
import os
import platform
import random
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SITE = REPO / "tests" / "fixtures" / "site"  # the frozen example site, not the author's files
PYTHON = sys.executable
KEYS = "t1:test-secret-key-0123456789abcdef"
ISSUE = "issues/2020-10.yaml"
SENDER = "digest@news.example.org"
_NAMES = ["Reader", "Dr. Ada Lovelace", "Zoë Müller", "José Álvarez", "O'Brien", "",
          "Chen Wei", "Ngozi Okafor", "Łukasz Żółć", "Anne-Marie Dubois"]


CA_FILE: list[Path] = []  # the private CA of this run's TLS front, once made


def env() -> dict[str, str]:
    e = dict(os.environ)
    e["NEWSLETTER_TOKEN_KEYS"] = KEYS
    if CA_FILE:
        e["NEWSLETTER_SMTP_CA_FILE"] = str(CA_FILE[0])
    e["PYTHONPATH"] = str(REPO) + os.pathsep + e.get("PYTHONPATH", "")
    return e


def make_project(where: Path, smtp_port: int | None = None) -> Path:
    """A site with the frozen example config and issues and the project's templates (as
    tests/conftest.py does), so the author's own files never change a benchmark; with
    `smtp_port`, its configuration sends by implicit TLS to 127.0.0.1:smtp_port."""
    where.mkdir(parents=True, exist_ok=True)
    shutil.copy(SITE / "newsletter.yaml", where / "newsletter.yaml")
    if smtp_port is not None:
        with open(where / "newsletter.yaml", "a", encoding="utf-8") as f:
            f.write(f"\nsmtp:\n  host: 127.0.0.1\n  port: {smtp_port}\n  security: tls\n")
    shutil.copytree(SITE / "issues", where / "issues")
    shutil.copytree(REPO / "templates", where / "templates")
    return where


def taxonomy_slugs() -> list[str]:
    import yaml

    cfg = yaml.safe_load((SITE / "newsletter.yaml").read_text(encoding="utf-8"))
    return list(cfg["topics"])


def write_subscribers(path: Path, n: int, seed: int = 7) -> Path:
    """n subscribers with random topic preferences drawn from the taxonomy: a fifth want every
    topic, the rest 1-8 topics (by slug or by label); names partly non-ASCII."""
    import yaml

    cfg = yaml.safe_load((SITE / "newsletter.yaml").read_text(encoding="utf-8"))
    # a topic is `slug: label` or `slug: {label: ..., aliases: [...]}`
    labels = {k: v if isinstance(v, str) else v["label"] for k, v in cfg["topics"].items()}
    slugs = list(labels)
    rnd = random.Random(seed)
    out = []
    for i in range(n):
        name = rnd.choice(_NAMES)
        lines = [f"- email: reader{i:06d}@example{i % 97}.org\n"]
        if name:
            lines.append(f"  name: \"{name} {i}\"\n" if name != "O'Brien" else f"  name: \"Pat O'Brien {i}\"\n")
        if rnd.random() >= 0.2:
            chosen = rnd.sample(slugs, rnd.randint(1, 8))
            items = ", ".join(json.dumps(labels[s]) if rnd.random() < 0.25 else s for s in chosen)
            lines.append(f"  topics: [{items}]\n")
        out.append("".join(lines))
    path.write_text("".join(out), encoding="utf-8")
    return path


# -- measurements --------------------------------------------------------------------------------
def peak_rss_mb() -> float:
    """This process's peak resident set (VmHWM), in MB."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def cpu_seconds() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def timed(fn: Callable[[], object], repeat: int, number: int = 1) -> list[float]:
    """Seconds per call, one figure per repetition."""
    out = []
    for _ in range(repeat):
        t = time.perf_counter()
        for _ in range(number):
            fn()
        out.append((time.perf_counter() - t) / number)
    return out


def median(xs: list[float]) -> float:
    return statistics.median(xs)


def run_worker(cmd: str, *args: str, cwd: Path | None = None, timeout: float = 1800) -> dict[str, object]:
    """Run `bench/_worker.py cmd args` in a fresh interpreter; its last stdout line is JSON."""
    p = subprocess.run([PYTHON, str(REPO / "bench" / "_worker.py"), cmd, *args], cwd=cwd or REPO,
                       env=env(), capture_output=True, text=True, timeout=timeout, check=False)
    if p.returncode != 0:
        raise RuntimeError(f"worker {cmd} failed ({p.returncode}):\n{p.stderr[-4000:]}")
    return json.loads(p.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


# -- the SMTP sink -------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def ensure_postfix_tools() -> None:
    """smtp-sink and smtp-source come with Debian's postfix; install it unconfigured if missing.
    The package's own mail daemon is stopped again at once: the bench needs only the tools."""
    if shutil.which("smtp-sink") and shutil.which("smtp-source"):
        return
    e = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["debconf-set-selections"], input="postfix postfix/main_mailer_type select No configuration\n",
                   text=True, check=True)
    subprocess.run(["apt-get", "install", "-y", "-q", "postfix"], env=e, check=True,
                   stdout=subprocess.DEVNULL)
    subprocess.run(["postfix", "stop"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    if not shutil.which("smtp-sink"):
        raise RuntimeError("smtp-sink is still missing after installing postfix")


class Sink:
    def __init__(self, port: int, proc: subprocess.Popen[bytes]) -> None:
        self.port, self.proc = port, proc

    def cpu_seconds(self) -> float:
        """CPU time the sink has used so far (user + system), from /proc."""
        with open(f"/proc/{self.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def smtp_sink() -> Iterator[Sink]:
    """Postfix's smtp-sink on 127.0.0.1:<high port>: accepts every message and throws it away."""
    ensure_postfix_tools()
    port = free_port()
    cmd = [shutil.which("smtp-sink") or "smtp-sink", "-4", "-m", "512"]
    if os.geteuid() == 0:
        cmd += ["-u", "nobody"]
    cmd += [f"127.0.0.1:{port}", "512"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                    if s.recv(100).startswith(b"220"):
                        break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    err = proc.stderr.read().decode() if proc.stderr else ""
                    raise RuntimeError(f"smtp-sink did not start: {err}") from None
                time.sleep(0.05)
        yield Sink(port, proc)
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# -- TLS in front of the sink, and a relay some milliseconds away -----------------------------------
def ensure_socat() -> None:
    """socat terminates TLS in front of smtp-sink (which speaks plaintext only); Debian's package."""
    if shutil.which("socat"):
        return
    e = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "install", "-y", "-q", "socat"], env=e, check=True, stdout=subprocess.DEVNULL)


def tls_files(where: Path) -> tuple[Path, Path]:
    """A private CA (trustme) and a certificate for 127.0.0.1: (ca.pem, server.pem with its key)."""
    import trustme

    where.mkdir(parents=True, exist_ok=True)
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    ca_file, server = where / "ca.pem", where / "server.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    server.write_bytes(cert.private_key_pem.bytes() + b"".join(c.bytes() for c in cert.cert_chain_pems))
    server.chmod(0o644)
    where.chmod(0o755)
    return ca_file, server


def _wait_port(port: int, proc: subprocess.Popen[bytes], what: str) -> None:
    deadline = time.monotonic() + 10
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{what} did not start") from None
            time.sleep(0.05)


@contextmanager
def tls_front(upstream: int, server_pem: Path) -> Iterator[int]:
    """socat on 127.0.0.1:<port>: implicit TLS (RFC 8314), one process per connection, each
    relaying plaintext to `upstream`; TCP_NODELAY both ways, as a relay's SMTP server has."""
    ensure_socat()
    port = free_port()
    cmd = ["socat", (f"OPENSSL-LISTEN:{port},bind=127.0.0.1,reuseaddr,fork,backlog=512,nodelay,"
           f"cert={server_pem},verify=0"), f"TCP:127.0.0.1:{upstream},nodelay"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_port(port, proc, "socat")
        yield port
    finally:
        proc.terminate()
        proc.wait(5)


@contextmanager
def delay_proxy(upstream: int, delay: float) -> Iterator[int]:
    """bench/_delayproxy.py on 127.0.0.1:<port>: `delay` seconds added each way (so a round
    trip of 2 × delay), in its own process."""
    port = free_port()
    proc = subprocess.Popen([PYTHON, str(REPO / "bench" / "_delayproxy.py"), str(port), str(upstream), str(delay)],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        assert proc.stdout is not None
        if proc.stdout.readline().strip() != b"ready":
            raise RuntimeError("the delay proxy did not start")
        yield port
    finally:
        proc.terminate()
        proc.wait(5)


# -- the machine ---------------------------------------------------------------------------------
def machine() -> dict[str, str]:
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    nproc = subprocess.run(["nproc"], capture_output=True, text=True, check=False).stdout.strip() or str(os.cpu_count())
    return {
        "nproc": nproc, "cpu": model, "memory": mem,
        "python": platform.python_version() + " (" + platform.python_implementation() + ")",
        "kernel": platform.release(),
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "load": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }
