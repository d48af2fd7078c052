"""The shape of service/: its modules import each other without a cycle, and SQL lives only
in service/store/.

Both read the source with ``ast`` (nothing is imported). An import counts wherever it
stands: at module level, inside a function (the usual way to hide a cycle) or under
``TYPE_CHECKING``.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

SERVICE = Path(__file__).resolve().parents[1] / "service"

# Import edges (importer, imported) that still close a cycle, each broken today by an import
# inside a function. They belong to work in progress elsewhere; that work empties this set.
# Nothing may be added to it.
KNOWN_CYCLE_EDGES: set[tuple[str, str]] = set()

# A string that starts like an SQL statement (the words are upper case in this code base).
# Only the start counts: prose may name a statement ("checked with PRAGMA integrity_check"),
# and "DELETE" alone is an HTTP method.
SQL_START = re.compile(
    r"""^\s*(
        SELECT\s.*\bFROM\b | SELECT\s+\d
      | INSERT\s+(OR\s+\w+\s+)?INTO\s
      | REPLACE\s+INTO\s
      | UPDATE\s+\w+\s+SET\s
      | DELETE\s+FROM\s
      | (CREATE|DROP)\s+(UNIQUE\s+|VIRTUAL\s+|TEMP\s+)?(TABLE|INDEX|VIEW|TRIGGER)\b
      | ALTER\s+TABLE\s
      | PRAGMA\s+\w
      | BEGIN(\s+(IMMEDIATE|EXCLUSIVE|DEFERRED|TRANSACTION))?\s*$
      | COMMIT\s*$ | ROLLBACK\b | SAVEPOINT\s | RELEASE\s+\w+\s*$
      | WITH\s+(RECURSIVE\s+)?\w+(\s*\([^)]*\))?\s+AS\s*\(
      | ANALYZE\b | VACUUM\b | EXPLAIN\s
    )""",
    re.X | re.S,
)


def module_name(path: Path, package: Path = SERVICE) -> str:
    parts = list(path.relative_to(package.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def service_modules(package: Path = SERVICE) -> dict[str, Path]:
    return {module_name(p, package): p for p in sorted(package.rglob("*.py"))}


def import_edges(modules: dict[str, Path]) -> set[tuple[str, str]]:
    """(importer, imported) for every import of one service module by another."""
    edges = set()
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            targets = []
            if isinstance(node, ast.Import):
                for alias in node.names:
                    parts = alias.name.split(".")
                    while parts and ".".join(parts) not in modules:
                        parts.pop()
                    targets.append(".".join(parts))
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")
                    base = base[: len(base) - (node.level - 1)]
                    source = ".".join(base + ([node.module] if node.module else []))
                else:
                    source = node.module or ""
                for alias in node.names:
                    sub = f"{source}.{alias.name}"
                    targets.append(sub if sub in modules else source)
            edges.update((name, t) for t in targets if t in modules and t != name)
    return edges


def cycles(edges: set[tuple[str, str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    graph: dict[str, list[str]] = {}
    for a, b in edges:
        graph.setdefault(a, []).append(b)
        graph.setdefault(b, [])
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def sql_strings(path: Path) -> list[tuple[int, str]]:
    """(line, text) of every string literal (f-strings by their leading text) that starts like SQL."""
    found = []
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.JoinedStr):
            head = node.values[0] if node.values else None
            text = head.value if isinstance(head, ast.Constant) and isinstance(head.value, str) else ""
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            text = node.value
        else:
            continue
        if SQL_START.match(text):
            found.append((node.lineno, text.strip().splitlines()[0]))
    return found


def test_service_modules_import_each_other_without_a_cycle():
    edges = import_edges(service_modules()) - KNOWN_CYCLE_EDGES
    assert cycles(edges) == []


def test_the_known_cycle_edges_are_real_imports():
    """An allowed edge that no longer exists is dropped from KNOWN_CYCLE_EDGES."""
    assert KNOWN_CYCLE_EDGES <= import_edges(service_modules())


def test_no_sql_outside_the_store():
    outside = {
        name: found
        for name, path in service_modules().items()
        if not name.startswith("service.store") and (found := sql_strings(path))
    }
    assert outside == {}


def test_the_store_holds_sql():
    """The detector sees the store's statements (so the test above can fail)."""
    found = [text for path in (SERVICE / "store").glob("*.py") for _line, text in sql_strings(path)]
    assert any(t.startswith("SELECT") for t in found) and any(t.startswith("PRAGMA") for t in found)
    assert any(t.startswith("BEGIN") for t in found) and any(t.startswith("INSERT") for t in found)


@pytest.mark.parametrize(
    "text, sql",
    [
        ("SELECT count(*) FROM events", True),
        ("SELECT 1", True),
        ("  INSERT OR IGNORE INTO event_terms (kind) VALUES (?)", True),
        ("UPDATE events SET id=? WHERE pk = ?", True),
        ("DELETE FROM changes WHERE seq = ?", True),
        ("CREATE VIRTUAL TABLE events_fts USING fts5(title)", True),
        ("DROP INDEX events_chrono", True),
        ("PRAGMA temp_store = FILE", True),
        ("BEGIN IMMEDIATE", True),
        ("COMMIT", True),
        ("ROLLBACK", True),
        ("WITH w AS (SELECT 1) SELECT * FROM w", True),
        ("ANALYZE sqlite_schema", True),
        ("DELETE", False),  # an HTTP method
        ("DELETE with ?cascade=true detaches them.", False),
        ("Select a date", False),
        ("The copy is checked with PRAGMA integrity_check.", False),
    ],
)
def test_what_counts_as_sql(text, sql):
    assert bool(SQL_START.match(text)) is sql


def test_a_cycle_is_found():
    edges = {("a", "b"), ("b", "c"), ("c", "a"), ("c", "d"), ("d", "e")}
    assert cycles(edges) == [["a", "b", "c"]]
    assert cycles(edges - {("c", "a")}) == []


def test_function_level_imports_are_edges(tmp_path):
    package = tmp_path / "service"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("def f():\n    from . import b\n")
    (package / "b.py").write_text("from .sub import c\n")
    (package / "sub" / "__init__.py").write_text("")
    (package / "sub" / "c.py").write_text("import service.a\nfrom .. import b as _b\n")
    modules = service_modules(package)
    assert import_edges(modules) == {
        ("service.a", "service.b"),
        ("service.b", "service.sub.c"),
        ("service.sub.c", "service.a"),
        ("service.sub.c", "service.b"),
    }
    assert cycles(import_edges(modules)) == [["service.a", "service.b", "service.sub.c"]]


def test_the_store_imports_nothing_of_ours_outside_itself():
    outside = {
        (a, b)
        for a, b in import_edges(service_modules())
        if a.startswith("service.store") and not b.startswith("service.store")
    }
    assert outside == set()


# What each module of service/store/ may import from the package (its docstring's map).
STORE_IMPORTS = {
    "model": set(),
    "planner": {"model"},
    "writes": {"model"},
    "migrations": {"model", "writes"},
    "reads": {"model", "planner"},
    "aggregates": {"model", "planner"},
    "timelines": {"model"},
    "tokens": {"model"},
    "connection": {"model", "planner", "writes", "migrations", "reads", "aggregates", "timelines", "tokens"},
    "bulk": {"model", "writes", "connection"},
    "ratelimit": set(),
    "backup": set(),
}


def test_store_modules_import_only_what_the_map_allows():
    modules = service_modules()
    assert {n.rpartition(".")[2] for n in modules if n.startswith("service.store.")} == set(STORE_IMPORTS)
    wrong = {
        (a, b)
        for a, b in import_edges(modules)
        if a.startswith("service.store.")
        and b.removeprefix("service.store.") not in STORE_IMPORTS[a.removeprefix("service.store.")]
    }
    assert wrong == set()
