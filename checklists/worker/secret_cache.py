"""The secrets scanner's findings per blob, kept in the database for every worker.

The scanner (checklists/scans/secrets.py) is pure and takes this through
`ScanTarget.secrets_cache`; any worker on any machine reuses what another found.
"""

from __future__ import annotations

from django.db.models import Q

from ..models import SecretBlobFindings
from ..scans.secretscan.cache import BlobEntry

LOOKUP_BATCH = 400  # keys per query, well under SQLite's parameter limit


class DatabaseBlobCache:
    def get_many(self, keys: list[tuple[str, str]], version: str) -> dict[tuple[str, str], BlobEntry]:
        found: dict[tuple[str, str], BlobEntry] = {}
        for i in range(0, len(keys), LOOKUP_BATCH):
            batch = keys[i : i + LOOKUP_BATCH]
            rows = SecretBlobFindings.objects.filter(
                rules_version=version, blob__in={blob for blob, _ in batch}
            ).values_list("blob", "context", "binary", "findings", "total")
            wanted = set(batch)
            for blob, context, binary, findings, total in rows:
                if (blob, context) in wanted:
                    found[(blob, context)] = BlobEntry([tuple(f) for f in findings], total, binary)
        return found

    def put_many(self, entries: dict[tuple[str, str], BlobEntry], version: str) -> None:
        SecretBlobFindings.objects.bulk_create(
            [
                SecretBlobFindings(
                    blob=blob,
                    context=context,
                    rules_version=version,
                    binary=entry.binary,
                    findings=[list(f) for f in entry.findings],
                    total=entry.total,
                )
                for (blob, context), entry in entries.items()
            ],
            ignore_conflicts=True,  # another worker scanned the same blob at the same time
        )

    @staticmethod
    def prune(keep_version: str) -> int:
        """Forget entries of other rules versions (they can never be read again)."""
        deleted, _ = SecretBlobFindings.objects.filter(~Q(rules_version=keep_version)).delete()
        return deleted
