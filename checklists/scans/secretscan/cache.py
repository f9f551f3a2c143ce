"""Findings per blob and rules version: what makes a second scan read only new blobs.

A git blob id is the hash of the blob's content, so what the rules found in it is true
wherever and whenever the blob appears; the rules version (rules file + engine code)
makes a rule change invalidate everything at once. The scanner takes any object with
these two methods through `ScanTarget.secrets_cache`; workers pass a database-backed
one (checklists/worker/secret_cache.py) shared by every machine, the command line a memory one.
Entries hold only redacted excerpts: never a secret.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class BlobEntry:
    findings: list[tuple[int, str, str]]  # (line, rule, redacted excerpt)
    total: int  # findings in the blob before the per-blob cap
    binary: bool = False


class BlobCache(Protocol):
    def get_many(self, keys: list[tuple[str, str]], version: str) -> dict[tuple[str, str], BlobEntry]:
        """Known entries for (blob id, context) keys under `version`."""

    def put_many(self, entries: dict[tuple[str, str], BlobEntry], version: str) -> None:
        """Remember entries; a concurrent writer of the same key is not an error."""


@dataclass
class MemoryBlobCache:
    entries: dict[tuple[str, str, str], BlobEntry] = field(default_factory=dict)

    def get_many(self, keys, version):
        return {k: self.entries[(*k, version)] for k in keys if (*k, version) in self.entries}

    def put_many(self, entries, version):
        for key, entry in entries.items():
            self.entries.setdefault((*key, version), entry)
