"""Structural checks a rule can name (`check = "..."`): what a regex alone cannot say."""

from __future__ import annotations

import base64
import binascii
import json
import re

from . import judge

JWT_EXAMPLE_CLAIMS = {"John Doe", "1234567890"}  # the claims of jwt.io's documented example token
CONCAT_PIECE_RE = re.compile(r"""\\?["'`]((?:\\.|[^"'`\\\n])*)\\?["'`]""")
PORT_RE = re.compile(r"^\d{1,5}(?:/.*)?$")
URL_PLACEHOLDERS = frozenset({"pass", "pwd", "password", "passwd", "secret", "pw", "p", "x", "xx", "xxx"})


def b64decode(value: str) -> bytes | None:
    text = value.strip()
    padded = text + "=" * (-len(text) % 4)
    for decoder in (base64.b64decode, base64.urlsafe_b64decode):
        try:
            return decoder(padded.encode())
        except (binascii.Error, ValueError):
            continue
    return None


def printable(data: bytes) -> str | None:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return text if text and all(c.isprintable() or c in "\r\n\t" for c in text) else None


def _json_part(part: str) -> dict | None:
    raw = b64decode(part.replace("-", "+").replace("_", "/"))
    if raw is None:
        return None
    try:
        value = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None
    return value if isinstance(value, dict) else None


def jwt(value: str) -> bool:
    """Three parts, a JSON header with `alg`, a JSON payload; jwt.io's documented example is not one."""
    parts = value.split(".")
    if len(parts) != 3:
        return False
    header, payload = _json_part(parts[0]), _json_part(parts[1])
    if header is None or "alg" not in header or payload is None:
        return False
    if JWT_EXAMPLE_CLAIMS & {str(v) for v in payload.values()}:
        return False
    return len(parts[2]) >= 16 or header.get("alg") == "none"


def b64_jwt(value: str) -> bool:
    decoded = b64decode(value)
    text = printable(decoded) if decoded else None
    return bool(text) and jwt(text.strip())


def basic_auth(value: str) -> bool:
    """Base64 of `user:password`, as in a Basic header or a docker config `auth`."""
    decoded = b64decode(value)
    text = printable(decoded) if decoded else None
    if not text or ":" not in text:
        return False
    user, _, password = text.partition(":")
    return bool(user) and url_password(password)


def url_password(value: str) -> bool:
    """Any password in a URL counts, however short, unless it is a port or a placeholder."""
    v = value.strip()
    if not v or PORT_RE.match(v) or v.lower() in URL_PLACEHOLDERS:
        return False
    if judge.REFERENCE_RE.match(v) or any(
        w in v.lower() for w in ("${", "{{", "<", "xxx", "***", "%s", "{", "…", "...")
    ):
        return False
    return not any(word in v.lower() for word in ("example", "changeme", "your", "password", "placeholder"))


def joined(value: str) -> str:
    """`'abc' . 'def'` (PHP), `"abc" + "def"`: the pieces of a concatenated literal, joined."""
    pieces = CONCAT_PIECE_RE.findall(value)
    return "".join(pieces) if pieces else value.strip("\"'`")


def unescape(value: str) -> str:
    return value.replace('\\"', '"').replace("\\'", "'").replace("\\\\", "\\")


def password(value: str) -> bool:
    return judge.looks_like_password(unescape(joined(value)))


def token(value: str) -> bool:
    value = unescape(joined(value))
    if value.startswith("eyJ") and value.count(".") == 2:
        return jwt(value)  # a JWT is judged as one: jwt.io's documented example is not a secret
    return judge.looks_like_token(value)


def random(value: str) -> bool:
    return judge.looks_random(value, min_length=20)


# Names of values that are random but not secret: identifiers, nonces sent in the clear, digests.
ID_NAME_RE = re.compile(
    r"(?:^|[_\-.])(?:id|uuid|guid|nonce|hash|digest|checksum|etag|sha\d*|md5|integrity|fingerprint|rev|revision|commit)$"
)
CAMEL_ID_NAME_RE = re.compile(
    r"[a-z0-9](?:Id|ID|Uuid|UUID|Guid|Nonce|Hash|Digest|Checksum|Etag|ETag|Sha\d*|Fingerprint|Revision)$"
)


def random_unnamed(value: str, context: str) -> bool:
    """A random string, unless the name it is given says it is an identifier, nonce or digest."""
    name = context.replace(value, "").strip("\"'`:= \t")
    if name and (ID_NAME_RE.search(name.lower()) or CAMEL_ID_NAME_RE.search(name)):
        return False
    return random(value)


def session(value: str) -> bool:
    """A session id: long and random, though often only lower case and digits (Django, PHP)."""
    v = value.strip()
    if len(v) < 16 or judge.is_placeholder(v) or judge.IDENTIFIER_RE.match(v):
        return False
    return judge.char_classes(v) >= 2 and judge.shannon_entropy(v) >= 3.5


def not_placeholder(value: str) -> bool:
    return not judge.is_placeholder(value)


PASSWORD_NAME_RE = re.compile(r"(?i)pass|pwd")
# The identifier in a match that holds the secret word (DB_PASSWORD in `- name: DB_PASSWORD`).
SECRET_NAME_RE = re.compile(r"(?i)[A-Za-z0-9_.\-]*(?:pass|pwd|secret|token|key|cred)[A-Za-z0-9_.\-]*")
# Names for something about a secret rather than the secret: TOKEN_HEADER, SECRET_PATH,
# PASSWORD_FIELD, API_KEY_NAME. Their values are only reported when a machine made them.
ABOUT_NAME_RE = re.compile(
    r"(?i)(?:header|headers|name|field|param|label|prefix|suffix|path|file|dir|url|uri|type|kind|format|regex|pattern)$"
)


def secret_value(value: str, context: str) -> bool:
    """A password when the name says pass/pwd, a token otherwise (the name is in `context`)."""
    name = context.replace(value, "")
    named = SECRET_NAME_RE.search(name)
    if named and ABOUT_NAME_RE.search(named.group(0)):
        return judge.looks_random(unescape(joined(value)), min_length=20)
    return password(value) if PASSWORD_NAME_RE.search(name) else token(value)


TRAILING_ESCAPES_RE = re.compile(r"(?:\\[nrt])+$")


def strong_secret_value(value: str, context: str) -> bool:
    """For names met in free text (`password=` in a log line): only values that cannot be prose."""
    name = context.replace(value, "")
    value = TRAILING_ESCAPES_RE.sub("", value)  # "...password=%DB_PASSWORD%\n" in a string literal
    if PASSWORD_NAME_RE.search(name):
        v = unescape(joined(value))
        return password(value) and judge.char_classes(v) >= 3
    return judge.looks_random(unescape(joined(value)), min_length=16)


CHECKS = {
    "jwt": jwt,
    "b64-jwt": b64_jwt,
    "basic-auth": basic_auth,
    "url-password": url_password,
    "password": password,
    "token": token,
    "random": random,
    "not-placeholder": not_placeholder,
    "session": session,
}
CONTEXT_CHECKS = {
    "secret-value": secret_value,
    "strong-secret-value": strong_secret_value,
    "random-unnamed": random_unnamed,
}


def passes(name: str, value: str, context: str = "") -> bool:
    if not name:
        return True
    if name in CONTEXT_CHECKS:
        return CONTEXT_CHECKS[name](value, context)
    return CHECKS[name](value)
