"""The rule set, kept as data (secret_rules.toml) and compiled with RE2: linear time, always.

RE2 guarantees matching in time linear in the input, whatever the pattern: no rule can be
a ReDoS. The price is no look-around and no back-references, so a token's right edge is
checked in Python (`boundary`), and structure RE2 cannot say is a named `check`.
"""

from __future__ import annotations

import hashlib
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import re2

RULES_FILE = Path(__file__).resolve().parent.parent / "secret_rules.toml"
PACKAGE_DIR = Path(__file__).resolve().parent
OPTIONS = re2.Options()
OPTIONS.max_mem = 64 << 20  # room for the DFA of long bounded repetitions; beyond it RE2 stays linear
TOKEN_CHARS = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")


@dataclass(frozen=True)
class Rule:
    id: str
    regex: re2._Regexp
    group: int
    keywords: tuple[bytes, ...]
    entropy: float
    keep: int
    paths: tuple[str, ...]
    allow: tuple[re2._Regexp, ...]
    check: str  # "" or the name of a structural check in checks.py
    boundary: bool  # the token must not run on into more token characters
    followed_by: re2._Regexp | None  # must match within the next 2 KB of the file (a key body)
    doc: str
    generic: bool  # reads names and syntax, not a provider's format: not run in lock files etc.


@dataclass(frozen=True)
class RuleSet:
    rules: tuple[Rule, ...]
    allow_values: tuple[re2._Regexp, ...]
    allow_paths: tuple[str, ...]
    example_hashes: frozenset[str]
    version: str


def compile_pattern(pattern: str) -> re2._Regexp:
    return re2.compile(pattern.encode(), OPTIONS)


def engine_digest() -> str:
    """Hash of the engine's own code: a change in how rules are applied changes the version too."""
    digest = hashlib.sha256()
    for path in sorted(PACKAGE_DIR.glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    digest.update((PACKAGE_DIR.parent / "secrets.py").read_bytes())
    return digest.hexdigest()


@lru_cache(maxsize=8)
def load_rules(path: Path = RULES_FILE) -> RuleSet:
    raw = path.read_bytes()
    data = tomllib.loads(raw.decode())
    rules = []
    for spec in data["rules"]:
        rules.append(
            Rule(
                id=spec["id"],
                regex=compile_pattern(spec["regex"]),
                group=int(spec.get("group", 0)),
                keywords=tuple(k.lower().encode() for k in spec.get("keywords", [])),
                entropy=float(spec.get("entropy", 0)),
                keep=int(spec.get("keep", 0)),
                paths=tuple(spec.get("paths", [])),
                allow=tuple(compile_pattern(p) for p in spec.get("allow", [])),
                check=spec.get("check", ""),
                boundary=bool(spec.get("boundary", True)),
                followed_by=compile_pattern(spec["followed_by"]) if spec.get("followed_by") else None,
                doc=spec.get("doc", ""),
                generic=spec.get("layer", "") == "generic",
            )
        )
    allow = data.get("allowlist", {})
    version = hashlib.sha256(raw + engine_digest().encode()).hexdigest()[:16]
    return RuleSet(
        tuple(rules),
        tuple(compile_pattern(p) for p in allow.get("values", [])),
        tuple(allow.get("paths", [])),
        frozenset(allow.get("example_sha256", [])),
        version,
    )
