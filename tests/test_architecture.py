"""The package layout is the architecture: imports only point down the list of subpackages,
the two web apps never import each other, and SQL lives in `store/` only.

Every `import`/`from … import` in every module counts, including those inside functions and
under `TYPE_CHECKING`.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "newsletter"

# Lowest first: a subpackage may import its own modules and those of any lower one, never a higher one.
LAYERS = ["errors", "content", "store", "mail", "delivery", "web", "cli"]
APART = [("web.preview", "web.public")]  # the two apps never import each other
SQL_HOME = "store"
SQL_ALLOWED: set[str] = set()  # modules outside store/ allowed to use SQL (none left)


@dataclass(frozen=True)
class Import:
    module: str  # the importing module, e.g. "mail.compose"
    target: str  # the imported module or name, e.g. "content.config"
    line: int


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def imports_of(path: Path, source: str | None = None) -> list[Import]:
    """The package-internal imports of one module, as names relative to `newsletter`."""
    tree = ast.parse(source if source is not None else path.read_text(encoding="utf-8"))
    name = module_name(path)
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "newsletter" or alias.name.startswith("newsletter."):
                    found.append(Import(name, alias.name.removeprefix("newsletter").lstrip("."), node.lineno))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - (node.level - 1)] if node.level > 1 else package
                target = ".".join([*base, *([node.module] if node.module else [])])
            elif node.module and (node.module == "newsletter" or node.module.startswith("newsletter.")):
                target = node.module.removeprefix("newsletter").lstrip(".")
            else:
                continue
            # `from . import x` / `from .pkg import mod`: each name may itself be a module
            for alias in node.names:
                full = f"{target}.{alias.name}" if target else alias.name
                found.append(Import(name, full, node.lineno))
    return found


def layer_of(name: str) -> int | None:
    top = name.split(".")[0]
    return LAYERS.index(top) if top in LAYERS else None


def upward(imp: Import) -> bool:
    mine, theirs = layer_of(imp.module), layer_of(imp.target)
    return mine is not None and theirs is not None and theirs > mine


def crossing(imp: Import) -> bool:
    for a, b in APART:
        for x, y in ((a, b), (b, a)):
            if _within(imp.module, x) and _within(imp.target, y):
                return True
    return False


def _within(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def sql_uses(path: Path, source: str | None = None) -> list[str]:
    """`import sqlite3` and `.execute(…)`/`.executemany(…)`/`.executescript(…)` calls."""
    tree = ast.parse(source if source is not None else path.read_text(encoding="utf-8"))
    hits = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import) and any(a.name == "sqlite3" for a in node.names):
            hits.append(f"{node.lineno}: import sqlite3")
        elif isinstance(node, ast.ImportFrom) and node.module == "sqlite3":
            hits.append(f"{node.lineno}: from sqlite3 import …")
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
              and node.func.attr in ("execute", "executemany", "executescript")):
            hits.append(f"{node.lineno}: .{node.func.attr}(…)")
    return hits


MODULES = sorted(PACKAGE.rglob("*.py"))


def test_every_subpackage_is_known() -> None:
    tops = {module_name(p).split(".")[0] for p in MODULES if module_name(p)}
    assert tops <= set(LAYERS) | {"__main__"}, tops - set(LAYERS)
    assert len(MODULES) > 40


@pytest.mark.parametrize("path", MODULES, ids=module_name)
def test_imports_point_down(path: Path) -> None:
    bad = [f"{i.module}:{i.line} imports {i.target}" for i in imports_of(path) if upward(i) or crossing(i)]
    assert bad == []


def test_sql_only_in_store() -> None:
    bad = [f"{module_name(p)}:{hit}" for p in MODULES
           if not _within(module_name(p), SQL_HOME) and module_name(p) not in SQL_ALLOWED
           for hit in sql_uses(p)]
    assert bad == []


@pytest.mark.parametrize(("where", "source", "why"), [
    ("content/config.py", "from ..mail.compose import Composer\n", "up"),
    ("store/ledger.py", "from newsletter.delivery import plan\n", "up"),
    ("mail/render.py", "def f():\n    from ..cli import main\n", "up"),
    ("errors.py", "from .content import config\n", "up"),
    ("delivery/plan.py", "from .. import web\n", "up"),
    ("web/preview/app.py", "from ..public.pages import render\n", "across"),
    ("web/public/app.py", "from newsletter.web.preview import model\n", "across"),
    ("web/public/app.py", "import sqlite3\n", "sql"),
    ("cli/subscribers.py", "def f(db):\n    db.execute('SELECT 1')\n", "sql"),
])
def test_the_checks_can_fail(where: str, source: str, why: str) -> None:
    """Each rule catches a deliberate bad import (so the checks above are not vacuous)."""
    path = PACKAGE / where
    if why == "sql":
        assert sql_uses(path, source)
    else:
        imps = imports_of(path, source)
        assert imps and any(upward(i) if why == "up" else crossing(i) for i in imps), imps


@pytest.mark.parametrize(("where", "source"), [
    ("mail/compose.py", "from ..content.config import Settings\n"),
    ("cli/send.py", "from ..delivery.sending import send\n"),
    ("web/public/app.py", "from ..pages import render\n"),
    ("web/preview/app.py", "from .. import pages\n"),
    ("store/ledger.py", "from ..errors import NewsletterError\n"),
])
def test_allowed_imports_pass(where: str, source: str) -> None:
    imps = imports_of(PACKAGE / where, source)
    assert imps and not any(upward(i) or crossing(i) for i in imps)


@pytest.mark.parametrize("path", MODULES, ids=module_name)
def test_no_private_imports_across_subpackages(path: Path) -> None:
    mine = module_name(path).split(".")[0]
    bad = [f"{i.module}:{i.line} imports {i.target}" for i in imports_of(path)
           if i.target.split(".")[0] != mine and i.target.rsplit(".", 1)[-1].startswith("_")]
    assert bad == []


@pytest.mark.parametrize("package", ["content", "store", "mail", "delivery", "cli", "web.pages",
                                     "delivery.transports"])
def test_public_surface_is_importable(package: str) -> None:
    """What each subpackage names as its public surface exists (as httpx tests its exports)."""
    import importlib

    mod = importlib.import_module(f"newsletter.{package}")
    names = getattr(mod, "__all__", None)
    assert names, f"newsletter.{package} names no public surface"
    assert [n for n in names if not hasattr(mod, n)] == []


def test_public_server_does_not_load_the_preview() -> None:
    import subprocess
    import sys

    code = ("import sys, newsletter.web.public.app; "
            "print(sorted(m for m in sys.modules if m.startswith('newsletter.web.preview')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
