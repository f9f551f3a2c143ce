"""Lengths and formats of text fields, shared by the models, forms, serializers and the workflow."""

import re

from django.core.validators import RegexValidator

SHA_RE = re.compile(r"^[0-9a-f]{40}$")

SHA_VALIDATOR = RegexValidator(
    SHA_RE.pattern, "Commit must be a full 40-character hexadecimal SHA (lower case).", "invalid_sha"
)

SLUG_VALIDATOR = RegexValidator(r"^[a-z0-9][a-z0-9-]*$", "Use lower-case letters, digits and dashes.")


# Lengths of text fields, shared by forms, serializers and the workflow's checks.
# Lengths of text fields, shared by forms, serializers and the workflow's checks.
TITLE_MAX = 200
VERSION_MAX = 64
REPOSITORY_MAX = 500
LONG_TEXT_MAX = 20_000
EVIDENCE_MAX = 4_000
