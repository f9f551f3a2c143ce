"""The code map holds: docs/architecture.md says which package may import which, and the code obeys.

The map is read from the document itself ("Which package may import which"), so the picture a
newcomer reads and the rule this test enforces are one table. Imports are read with `ast`, not
by importing: a module imported only inside a function, or only for type checking, still counts.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from django.conf import settings

from checklists.effects import outbox

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "checklists"
DOC = ROOT / "docs" / "architecture.md"


def allowed_imports() -> dict[str, set[str]]:
    """package -> the packages it may import, from the document's table."""
    text = DOC.read_text().split("### Which package may import which", 1)[1]
    rows = re.findall(r"^\| `(\w+)` \| [^|]* \| ([^|]*) \|$", text, flags=re.M)
    assert rows, "docs/architecture.md has no import table"
    return {name: {p.strip() for p in may.split(",") if p.strip() not in ("", "—")} for name, may in rows}


def modules() -> dict[str, Path]:
    found = {}
    for path in sorted(APP.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def package_of(module: str) -> str:
    """checklists.policy.abilities -> policy; checklists.tasks -> tasks; checklists -> checklists."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def imports(module: str, path: Path):
    """(imported checklists module, line, inside a function, module level) for each import."""
    tree = ast.parse(path.read_text())
    is_package = path.name == "__init__.py"
    known = modules()
    functions = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]
    in_function = {id(n) for f in functions for n in ast.walk(f)}
    top_level = {id(n) for n in tree.body}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")[: None if is_package else -1]
                base = base[: len(base) - (node.level - 1)]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            names = [f"{target}.{alias.name}" for alias in node.names]
            found = [name if name in known else target for name in names]
        elif isinstance(node, ast.Import):
            found = [alias.name for alias in node.names]
        else:
            continue
        for target in found:
            if target == "checklists" or target.startswith("checklists."):
                yield target, node.lineno, id(node) in in_function, id(node) in top_level


def test_every_package_of_the_app_is_on_the_map():
    packages = {package_of(m) for m in modules()} - {"checklists"}
    assert packages <= set(allowed_imports()), (
        f"not on the map in docs/architecture.md: {sorted(packages - set(allowed_imports()))}"
    )


def test_each_package_imports_only_what_the_map_allows():
    allowed = allowed_imports()
    wrong = []
    for module, path in modules().items():
        source = package_of(module)
        for target, line, _, _ in imports(module, path):
            imported = package_of(target)
            if imported not in (source, "checklists") and imported not in allowed.get(source, set()):
                wrong.append(f"{path.relative_to(ROOT)}:{line} {source} imports {imported} ({target})")
    assert wrong == []


def test_no_checklists_import_hides_inside_a_function():
    """An import inside a function is how an import cycle hides (tasks -> webhooks -> tasks was one)."""
    hidden = [
        f"{path.relative_to(ROOT)}:{line} imports {target}"
        for module, path in modules().items()
        for target, line, in_function, _ in imports(module, path)
        if in_function
    ]
    assert hidden == []


def test_modules_import_each_other_without_a_cycle():
    known = modules()
    graph: dict[str, set[str]] = {m: set() for m in known}
    for module, path in known.items():
        for target, _, _, module_level in imports(module, path):
            if not module_level:
                continue  # type-checking only
            # Importing a.b.c runs a/__init__ and a/b/__init__ first.
            parts = target.split(".")
            for end in range(2, len(parts) + 1):
                step = ".".join(parts[:end])
                if step in known and step != module and not module.startswith(step + "."):
                    graph[module].add(step)
    cycles, state = [], {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = "open"
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                cycles.append(trail[trail.index(nxt) :] + [nxt] if nxt in trail else [node, nxt])
            elif nxt not in state:
                visit(nxt, [*trail, nxt])
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    assert cycles == []


def test_every_task_keeps_its_registered_name():
    """The names are the broker contract: queued messages and beat entries carry them."""
    from releasegate.celery import app

    app.loader.import_default_modules()
    registered = {name for name in app.tasks if not name.startswith("celery.")}
    contract = {
        "checklists.tasks.run_scan",
        "checklists.tasks.sweep_scans",
        "checklists.tasks.read_commit_range",
        "checklists.tasks.repoint_releases",
        "checklists.tasks.deliver_webhook",
        "checklists.tasks.deliver_integration",
        "checklists.tasks.answer_deployments",
        "checklists.tasks.sweep_integrations",
        "checklists.notifications.notify_submitted",
        "checklists.notifications.notify_decision",
        "checklists.notifications.notify_event",
    }
    declared = {value for name, value in vars(outbox).items() if name.isupper() and isinstance(value, str)}
    assert registered == contract == declared
    assert {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()} <= registered
