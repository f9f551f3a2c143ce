"""Is a value a secret? Entropy, randomness and the shapes of placeholders and non-secrets."""

from __future__ import annotations

import hashlib
import math
import re
from collections import Counter

# Words that make a value a placeholder wherever they appear in it.
PLACEHOLDER_WORDS = (
    "example",
    "sample",
    "dummy",
    "placeholder",
    "redacted",
    "changeme",
    "change_me",
    "change-me",
    "changeit",
    "notasecret",
    "not_a_secret",
    "not-a-secret",
    "not-a-real",
    "not_real",
    "fake",
    "your_",
    "your-",
    "yourtoken",
    "yourkey",
    "yourpassword",
    "insert",
    "replace",
    "xxxx",
    "XXXX",
    "****",
    "....",
    "<",
    ">",
    "${",
    "{{",
    "}}",
    "%(",
    "%s",
    "$(",
)
# Placeholder runs matched as written (xxxx, XXXX), so a random token that happens to hold
# "xXxX" is still judged.
CASED_WORDS = frozenset({"xxxx", "XXXX"})
# Whole values that are placeholders or plain words, never a secret.
PLACEHOLDER_VALUES = frozenset(
    {
        "password",
        "passwd",
        "secret",
        "token",
        "apikey",
        "api_key",
        "none",
        "null",
        "nil",
        "true",
        "false",
        "undefined",
        "empty",
        "string",
        "required",
        "optional",
        "todo",
        "tbd",
        "test",
        "testing",
        "admin",
        "root",
        "user",
        "username",
        "pass",
        "default",
        "hidden",
        "masked",
        "unset",
        "env",
    }
)
# Values that are references to a secret kept elsewhere, not the secret itself.
REFERENCE_RE = re.compile(
    r"""^(?:\$[A-Za-z_{(]|%[A-Za-z_]+%$|@[A-Za-z_.]+@$|!Ref\b|!Sub\b|!GetAtt\b|(?:os\.)?getenv\b|os\.environ|process\.env|ENV\[|env\(|System\.getenv|secrets\.|vault:|arn:aws:secretsmanager|projects/[^/]+/secrets/|sm://|ssm:|@Microsoft\.KeyVault\(|\{\{|\{%|<%|\[\[)"""
)
SEQUENCES = (
    "0123456789",
    "abcdefghijklmnopqrstuvwxyz",
    "qwertyuiop",
    "asdfghjkl",
    "zyxwvutsrqponmlkjihgfedcba",
)
# Eight characters in a row along the alphabet, the digits or the keyboard: typed, not random.
SEQUENCE_RUN_RE = re.compile(
    "|".join(sorted({seq[i : i + 8] for seq in SEQUENCES for i in range(len(seq) - 7)}))
)
HEX_RE = re.compile(r"^[0-9a-fA-F]+$")
UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
# Names, not secrets: snake_case (a leading underscore too), CONSTANT_CASE (with whole
# number segments: HTTP_X_SIGNATURE_256), CamelCase, camelCase.
IDENTIFIER_RE = re.compile(
    r"^(?:[_.]*[a-z]+(?:[_.\-:/][a-z]+)*|[A-Z]+(?:[_.\-](?:[A-Z]+|[0-9]+))*|[A-Za-z][a-z]+(?:[A-Z][a-z]+)*"
    r"|[a-z]+(?:[A-Z][a-z]*)+)$"
)
DOTTED_CODE_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)+(?:\(.*\))?$")
CALL_RE = re.compile(r"^[A-Za-z_$][A-Za-z0-9_.$]*(?:\(.*\)?|\[.*\]?)$")  # a call or an index: code
NUMBER_RE = re.compile(r"^[-+]?(?:0[xob][0-9a-fA-F_]+|[0-9_]+(?:\.[0-9_]+)?(?:e[-+]?[0-9]+)?)[lLuU]?$")
# Format fields and interpolations: {name}, {obj.attr}, {make_token()} (an f-string's call), %(x)s.
FORMAT_FIELD_RE = re.compile(
    r"\{[A-Za-z0-9_.!:\-\[\]]*\}|\{[A-Za-z_][A-Za-z0-9_.]*\([^{}]{0,80}\)\}|%\([A-Za-z_]+\)[sdr]|%[sd]\b"
)
ALNUM_RUN_RE = re.compile(r"[A-Za-z0-9]+")
# Public material that looks random: ssh public key blobs, hash and integrity prefixes.
PUBLIC_PREFIXES = (
    "AAAAB3NzaC1",
    "AAAAC3NzaC1",
    "AAAAE2VjZHNh",
    "AAAAB3NzaC",
    "sha1-",
    "sha256-",
    "sha384-",
    "sha512-",
    "sha1:",
    "sha256:",
    "sha512:",
    "md5:",
    "h1:",
    "age1",
    "npub1",
    "pk_live_",
    "pk_test_",
    "pk.eyJ",  # Mapbox public tokens (docs.mapbox.com/accounts/guides/tokens): sk. ones are secret
)
# Stored password hashes (Django's `algorithm$...`, crypt's `$id$...`): what a fixture of users
# holds instead of the password, not a credential by itself.
PASSWORD_HASH_RE = re.compile(
    r"^(?:(?:pbkdf2_sha256|pbkdf2_sha1|argon2|bcrypt_sha256|bcrypt|scrypt|sha1|md5|unsalted_sha1|unsalted_md5|crypt)"
    r"\$[^\s$]{1,40}\$|\$(?:1|2[abxy]?|5|6|7|y|gy|argon2(?:i|d|id)|scrypt|pbkdf2(?:-sha\d+)?)\$)"
)
# Nix's base32 sha256 (52 characters of an alphabet without e, o, u, t): a source's hash.
NIX_HASH_RE = re.compile(r"^[0-9a-df-np-sv-z]{52}$")
# Identifiers that are public by design: OAuth client ids.
PUBLIC_SUFFIXES = (".apps.googleusercontent.com",)
# A file system path made of words: /etc/app/secrets/api_key.txt, ./keys/prod.pem, ~/.ssh/id_rsa.
PATH_RE = re.compile(r"^(?:~|\.{1,2})?/(?:[A-Za-z0-9_\-]+(?:\.[A-Za-z0-9_\-]+)*/?)+$")
# A relative path of words ending in a file name with an extension: k8s/secret.yaml, .github/ci.yml.
RELATIVE_PATH_RE = re.compile(r"^\.?[A-Za-z0-9_\-]+(?:/\.?[A-Za-z0-9_\-]+)*/\.?[A-Za-z0-9_\-]+\.[a-z]{1,5}$")
WORDY_SEGMENT_RE = re.compile(r"^[A-Za-z_\-]*[0-9]{0,4}[a-z_\-]*(?:\.[A-Za-z0-9]{1,8})*$")


def shannon_entropy(data: str | bytes) -> float:
    """Bits per character of `data`'s own character distribution."""
    if not data:
        return 0.0
    total = len(data)
    return -sum(n / total * math.log2(n / total) for n in Counter(data).values())


def char_classes(value: str) -> int:
    """How many of lower, upper, digit and other characters `value` mixes."""
    return (
        any(c.islower() for c in value)
        + any(c.isupper() for c in value)
        + any(c.isdigit() for c in value)
        + any(not c.isalnum() for c in value)
    )


def _kind(c: str) -> int:
    return 0 if c.islower() else 1 if c.isupper() else 2 if c.isdigit() else 3


def switch_ratio(value: str) -> float:
    """Share of neighbouring characters of different kinds: ~0.6 for random base62, ~0.1 for words."""
    if len(value) < 2:
        return 0.0
    kinds = [_kind(c) for c in value]
    return sum(a != b for a, b in zip(kinds, kinds[1:], strict=False)) / (len(value) - 1)


def entropy_floor(length: int, alphabet: int = 62) -> float:
    """The entropy a random string of `length` characters from `alphabet` reaches with ~95 % odds."""
    effective = min(length, alphabet)
    return min(4.3, math.log2(effective) - 0.9) if effective > 2 else 0.0


def is_repetitive(value: str) -> bool:
    """`aaaa`, `abab`, `123123`, `x1x1x1`, and runs along the keyboard or the alphabet."""
    low = value.lower()
    if len(set(low)) <= 2 or (len(low) >= 12 and len(set(low)) <= 3):
        return True
    for period in range(1, 5):
        if len(low) >= period * 3 and low == (low[:period] * (len(low) // period + 1))[: len(low)]:
            return True
    return any(len(low) >= 6 and low in seq for seq in SEQUENCES) or bool(SEQUENCE_RUN_RE.search(low))


def is_placeholder(value: str) -> bool:
    """A value that stands for a secret without being one."""
    low = value.lower().strip()
    if not low or low in PLACEHOLDER_VALUES:
        return True
    if any(word in low for word in PLACEHOLDER_WORDS if word not in CASED_WORDS):
        return True
    if any(word in value for word in CASED_WORDS):
        return True
    if REFERENCE_RE.match(value.strip()) or FORMAT_FIELD_RE.search(value) or NUMBER_RE.match(value.strip()):
        return True
    return is_repetitive(value)


def is_public_or_hash(value: str) -> bool:
    if value.startswith(PUBLIC_PREFIXES) or value.endswith(PUBLIC_SUFFIXES):
        return True
    return bool(UUID_RE.match(value) or PASSWORD_HASH_RE.match(value) or NIX_HASH_RE.match(value))


def is_path(value: str) -> bool:
    """A path whose every segment is a word (with an extension): where a secret is kept, not one."""
    if not (PATH_RE.match(value) or RELATIVE_PATH_RE.match(value)):
        return False
    return all(WORDY_SEGMENT_RE.match(seg) for seg in value.split("/") if seg not in ("", "~", ".", ".."))


def looks_random(value: str, *, min_length: int = 16) -> bool:
    """A token a machine made, whatever it is named: its longest run of letters and digits is
    long, mixes lower case, upper case and digits all the time, and has high entropy.
    Dotted names, versions, paths and prose split into short runs of words and fail."""
    if len(value) < min_length or is_placeholder(value) or is_public_or_hash(value):
        return False
    if HEX_RE.match(value):
        return False  # digests and ids: hex is only judged next to a secret's name
    run = max(ALNUM_RUN_RE.findall(value), key=len, default="")
    if len(run) < 16 or not (any(c.isdigit() for c in run) and any(c.islower() for c in run)):
        return False
    if not any(c.isupper() for c in run) and len(run) < 32:
        return False
    return shannon_entropy(run) >= entropy_floor(len(run)) and switch_ratio(run) >= 0.35


def looks_like_password(value: str) -> bool:
    """A value a person may have typed as a password: not a word, a reference or a placeholder."""
    v = value.strip()
    if len(v) < 6 or len(v) > 200 or " " in v or is_placeholder(v):
        return False
    if PASSWORD_HASH_RE.match(v) or is_path(v):
        return False
    if IDENTIFIER_RE.match(v) or DOTTED_CODE_RE.match(v) or CALL_RE.match(v):
        return False
    if v.isdigit() and len(v) < 10:
        return False
    if char_classes(v) >= 2:
        return shannon_entropy(v) >= 2.3
    return len(v) >= 12 and shannon_entropy(v) >= 3.0


def is_generated_salt(value: str) -> bool:
    """A long key drawn from letters, digits and many punctuation marks (WordPress salts, Django
    SECRET_KEY): its `<`, `>` or `${` are random characters, not a placeholder's markers."""
    low = value.lower()
    if len(value) < 40 or " " in value or char_classes(value) < 4:
        return False
    if any(word in low for word in PLACEHOLDER_WORDS if word.isalpha() or word.endswith(("_", "-"))):
        return False
    punctuation = {c for c in value if not c.isalnum() and c not in "-_.+/=~:"}
    return len(punctuation) >= 4 and shannon_entropy(value) >= 4.8 and switch_ratio(value) >= 0.5


def looks_like_token(value: str) -> bool:
    """A value named like a token or key: random enough not to be a word, an id or code."""
    v = value.strip()
    if is_generated_salt(v):
        return True
    if len(v) < 12 or " " in v or is_placeholder(v) or is_public_or_hash(v) or is_path(v):
        return False
    if IDENTIFIER_RE.match(v) or DOTTED_CODE_RE.match(v) or CALL_RE.match(v) or v.isdigit():
        return False
    if HEX_RE.match(v):
        return len(v) >= 16 and shannon_entropy(v.lower()) >= 3.0
    return char_classes(v) >= 2 and shannon_entropy(v) >= 3.0 and switch_ratio(v) >= 0.15


def fingerprint(value: str | bytes) -> str:
    """sha256 of a value: documented example keys are listed by their hash, not their text."""
    data = value.encode() if isinstance(value, str) else value
    return hashlib.sha256(data).hexdigest()
