"""The architecture's import rules, checked on every run (like an import-linter contract).

- the protocol core imports nothing else from sceau;
- storage never imports services or HTTP;
- services never import HTTP;
- HTTP handlers never run SQL (they reach storage only through services,
  except the Stores container for simple reads).
"""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "sceau"


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


def _modules(folder: str) -> list[Path]:
    return sorted((PACKAGE / folder).rglob("*.py"))


@pytest.mark.parametrize("path", _modules("protocol"), ids=lambda p: p.name)
def test_protocol_core_imports_nothing_else_from_sceau(path):
    bad = {
        m for m in _imports(path) if m.startswith("sceau") and not m.startswith("sceau.protocol")
    }
    assert not bad, f"{path.name} imports {bad}"


@pytest.mark.parametrize("path", _modules("storage"), ids=lambda p: p.name)
def test_storage_never_imports_services_or_http(path):
    bad = {
        m
        for m in _imports(path)
        if m.startswith(("sceau.services", "sceau.http", "sceau.homeserver"))
    }
    assert not bad, f"{path.name} imports {bad}"


@pytest.mark.parametrize("path", _modules("services"), ids=lambda p: p.name)
def test_services_never_import_http(path):
    bad = {m for m in _imports(path) if m.startswith("sceau.http")}
    assert not bad, f"{path.name} imports {bad}"


@pytest.mark.parametrize("path", _modules("http"), ids=lambda p: p.name)
def test_http_handlers_hold_no_sql(path):
    source = path.read_text(encoding="utf-8")
    assert "fetchall(" not in source and "txn.execute(" not in source, f"{path.name} runs SQL"
    bad = {m for m in _imports(path) if m.startswith("sceau.storage.database")}
    assert not bad, f"{path.name} imports the database"
