"""Production configuration files, parsed into flat key/value entries with line numbers.

Shared by the mock_flag, debug_off and env_credentials scanners. Real parsers for
dotenv, YAML (safe loader), JSON, TOML and INI; a careful pattern scan for Python
settings (never imported, never executed).
"""

from __future__ import annotations

import configparser
import json
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

import yaml

from .base import Finding, ScannerUnavailable, ScanTarget, glob_match

MAX_NODES = 100_000
ENV_REFERENCE_RE = re.compile(
    r"""^\s*(
        \$\{[^}]*\}            # ${VAR} or ${VAR:-default}
      | \$[A-Za-z_][A-Za-z0-9_]*  # $VAR
      | %\(ENV_[A-Za-z0-9_]+\)s   # supervisor style
      | \{\{.*\}\}              # a template placeholder
    )\s*$""",
    re.VERBOSE,
)
PY_ENV_CALL_RE = re.compile(
    r"(os\.environ|os\.getenv|getenv\(|\benv(\.\w+)?\(|\bconfig\(|get_env\(|environ\.get\(|secrets_manager|vault)"
)


@dataclass(frozen=True)
class ConfigEntry:
    file: str
    line: int | None
    key: str  # dotted path, e.g. "logging.level"
    value: Any  # str, bool, int, float or None
    from_env: bool = False  # a reference to an environment variable, or empty

    @property
    def name(self) -> str:
        """The last segment of the key, lower-cased, separators normalised to `_`."""
        last = re.split(r"[.\[\]]", self.key.strip("."))
        last = [part for part in last if part and not part.isdigit()]
        return re.sub(r"[-\s]", "_", (last[-1] if last else self.key)).lower()


@dataclass
class ConfigSet:
    entries: list[ConfigEntry] = field(default_factory=list)
    problems: list[Finding] = field(default_factory=list)
    files: list[str] = field(default_factory=list)


def is_env_reference(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return value.strip() == "" or bool(ENV_REFERENCE_RE.match(value))
    return False


def _entry(file: str, line: int | None, key: str, value: Any) -> ConfigEntry:
    return ConfigEntry(file, line, key, value, is_env_reference(value))


def file_format(path: str) -> str:
    name = PurePosixPath(path).name.lower()
    suffix = PurePosixPath(name).suffix
    if name.startswith(".env") or suffix == ".env":
        return "dotenv"
    return {
        ".yml": "yaml",
        ".yaml": "yaml",
        ".json": "json",
        ".toml": "toml",
        ".ini": "ini",
        ".cfg": "ini",
        ".conf": "ini",
        ".py": "python",
    }.get(suffix, "dotenv")


def _line_of(text: str, key: str) -> int | None:
    match = re.search(rf"""^[ \t]*["']?{re.escape(key)}["']?[ \t]*[:=]""", text, re.MULTILINE)
    if match is None:
        match = re.search(rf"""["']{re.escape(key)}["']\s*:""", text)
    return text.count("\n", 0, match.start()) + 1 if match else None


def _flatten(file: str, text: str, data: Any, prefix: str = "") -> list[ConfigEntry]:
    out: list[ConfigEntry] = []
    stack = [(prefix, data)]
    while stack and len(out) < MAX_NODES:
        key, value = stack.pop()
        if isinstance(value, dict):
            stack.extend((f"{key}.{k}" if key else str(k), v) for k, v in reversed(list(value.items())))
        elif isinstance(value, list):
            stack.extend((f"{key}[{i}]", v) for i, v in reversed(list(enumerate(value))))
        else:
            last = key.rsplit(".", 1)[-1].split("[", 1)[0]
            out.append(_entry(file, _line_of(text, last), key, value))
    return out


def parse_dotenv(file: str, text: str) -> list[ConfigEntry]:
    out = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = re.match(r"^(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*=\s*(.*)$", line)
        if not match:
            raise ValueError(f"line {number}: expected KEY=value")
        key, value = match.groups()
        if value[:1] in {'"', "'"}:
            end = value.find(value[0], 1)
            value = value[1:end] if end != -1 else value[1:]
        else:
            value = re.split(r"\s+#", value, maxsplit=1)[0].strip()
        out.append(_entry(file, number, key, value))
    return out


YAML_SCALARS = {
    "tag:yaml.org,2002:bool": lambda v: v.lower() in {"true", "yes", "on", "y"},
    "tag:yaml.org,2002:null": lambda v: None,
    "tag:yaml.org,2002:int": lambda v: v,
    "tag:yaml.org,2002:float": lambda v: v,
}


def parse_yaml(file: str, text: str) -> list[ConfigEntry]:
    out: list[ConfigEntry] = []
    seen = 0
    for document in yaml.compose_all(text, Loader=yaml.SafeLoader):
        stack = [("", document)]
        visited: set[int] = set()
        while stack:
            key, node = stack.pop()
            seen += 1
            if node is None or id(node) in visited or seen > MAX_NODES:
                continue
            visited.add(id(node))  # aliases point at one node: read it once (no alias bombs)
            if isinstance(node, yaml.MappingNode):
                for k, v in reversed(node.value):
                    name = str(k.value) if isinstance(k, yaml.ScalarNode) else "?"
                    stack.append((f"{key}.{name}" if key else name, v))
            elif isinstance(node, yaml.SequenceNode):
                stack.extend((f"{key}[{i}]", v) for i, v in reversed(list(enumerate(node.value))))
            elif isinstance(node, yaml.ScalarNode):
                convert = YAML_SCALARS.get(node.tag)
                value = convert(node.value) if convert and node.style is None else node.value
                out.append(_entry(file, node.start_mark.line + 1, key, value))
    return out


def parse_json(file: str, text: str) -> list[ConfigEntry]:
    return _flatten(file, text, json.loads(text))


def parse_toml(file: str, text: str) -> list[ConfigEntry]:
    return _flatten(file, text, tomllib.loads(text))


def parse_ini(file: str, text: str) -> list[ConfigEntry]:
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    try:
        parser.read_string(text)
    except configparser.MissingSectionHeaderError:
        parser.read_string("[root]\n" + text)
    out = []
    for section in parser.sections():
        for key, value in parser.items(section, raw=True):
            out.append(_entry(file, _line_of(text, key), f"{section}.{key}", value))
    return out


PY_ASSIGN_RE = re.compile(r"""^([A-Za-z_][A-Za-z0-9_]*)\s*(?::[^=]+)?=(?!=)\s*(.+?)\s*$""")
PY_DICT_ITEM_RE = re.compile(r"""["']([A-Za-z_][A-Za-z0-9_.-]*)["']\s*:\s*([^,{}#]+)""")
PY_KWARG_RE = re.compile(r"""\b([A-Za-z_][A-Za-z0-9_]*)\s*=\s*([^,)#]+)""")


def _python_value(expr: str) -> tuple[Any, bool]:
    """(value, known): a literal we can judge, or an expression we cannot."""
    expr = expr.strip().rstrip(",").strip()
    if PY_ENV_CALL_RE.search(expr):
        return None, True  # sourced from the environment
    if expr in {"True", "False"}:
        return expr == "True", True
    if expr == "None":
        return None, True
    if re.fullmatch(r"-?\d+(\.\d+)?", expr):
        return expr, True
    match = re.fullmatch(r"""[rbuf]?(['"])(.*)\1""", expr)
    if match:
        return match.group(2), True
    return expr, False


def parse_python(file: str, text: str) -> list[ConfigEntry]:
    out = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = re.sub(r"\s+#[^'\"]*$", "", raw)
        if not line.strip() or line.lstrip().startswith(("#", "import ", "from ", "def ", "class ", "@")):
            continue
        pairs = []
        if raw[:1] not in (" ", "\t") and (match := PY_ASSIGN_RE.match(line)):
            pairs.append(match.groups())
        pairs.extend(PY_DICT_ITEM_RE.findall(line))
        if not pairs:
            pairs.extend((k, v) for k, v in PY_KWARG_RE.findall(line) if raw[:1] in (" ", "\t"))
        for key, expr in pairs:
            value, known = _python_value(expr)
            if known:
                out.append(ConfigEntry(file, number, key, value, value is None or is_env_reference(value)))
            elif PY_ENV_CALL_RE.search(expr):
                out.append(ConfigEntry(file, number, key, None, True))
    return out


PARSERS = {
    "dotenv": parse_dotenv,
    "yaml": parse_yaml,
    "json": parse_json,
    "toml": parse_toml,
    "ini": parse_ini,
    "python": parse_python,
}


def _error_line(exc: Exception) -> int | None:
    mark = getattr(exc, "problem_mark", None)
    if mark is not None:
        return mark.line + 1
    if isinstance(exc, json.JSONDecodeError):
        return exc.lineno
    match = re.search(r"line (\d+)", str(exc))
    return int(match.group(1)) if match else None


def load_configs(target: ScanTarget) -> ConfigSet:
    """Parse every tracked file matching the team's production-config globs."""
    snap = target.snapshot
    if snap is None:
        raise ScannerUnavailable("No repository to read.")
    globs = target.config_globs
    found = ConfigSet()
    for skipped in snap.skipped:
        if glob_match(skipped.path, globs) and skipped.reason in ("symlink", "too_large"):
            why = "a symlink (not followed)" if skipped.reason == "symlink" else "too large to read"
            found.problems.append(
                Finding(skipped.path, None, f"config-{skipped.reason.replace('_', '-')}", "",
                        f"A production config path is {why}; it cannot be checked.")
            )  # fmt: skip
    wanted = [f for f in snap.files if glob_match(f.path, globs)]
    binary_before = len(snap.skipped)
    for item, data in snap.read(wanted):
        found.files.append(item.path)
        text = data.decode("utf-8", "replace")
        kind = file_format(item.path)
        try:
            found.entries.extend(PARSERS[kind](item.path, text))
        except (
            ValueError,
            yaml.YAMLError,
            tomllib.TOMLDecodeError,
            configparser.Error,
            RecursionError,
        ) as exc:
            message = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
            found.problems.append(
                Finding(item.path, _error_line(exc), "config-unparseable", "",
                        f"Not valid {kind.upper()}: {message}")
            )  # fmt: skip
    for skipped in snap.skipped[binary_before:]:
        found.problems.append(
            Finding(skipped.path, None, "config-binary", "", "A production config path holds binary data.")
        )
    return found


TRUTHY = {"true", "1", "yes", "on", "y", "enabled", "enable"}


def truthy(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).strip().strip("'\"").lower() in TRUTHY if value is not None else False


def show(entry: ConfigEntry) -> str:
    """A config line for a finding: the key and a harmless value (no credential values here)."""
    value = entry.value
    text = "true" if value is True else "false" if value is False else "null" if value is None else str(value)
    return f"{entry.key} = {text[:80]}"
