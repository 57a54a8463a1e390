"""Secrets without a vendor format, found by context: a value assigned to a name that says
password, secret, token or key, kept only when it is strong enough (length, character
classes, Shannon entropy) and is not a placeholder, a reference or code."""

from __future__ import annotations

import re
from dataclasses import dataclass

from shipway.scanner.findings import Severity
from shipway.scanner.secrets.placeholders import entropy, is_placeholder

#: Lowercase substrings that make a name worth a look (each is one pass over the text).
KEYWORDS = ("pass", "pwd", "secret", "token", "key", "credential", "auth")
# A name is a secret's name when one of its words contains one of these ...
_SECRET_WORDS = ("password", "passwd", "passphrase", "pwd", "secret", "token", "apikey",
                 "accesskey", "credential")  # fmt: skip
# ... or is one of these, or is `key` qualified by another word (`api_key`, `STRIPE_KEY`).
_SECRET_NAMES = frozenset({"auth", "authkey", "pass", "pw"})

_PATH_SEPARATORS = frozenset(":/+@")
_NAME_REST = re.compile(r"[A-Za-z0-9_.-]*")
_ASSIGNS = re.compile(r"""\\?["']?\]?[ \t]*[=:]""")
_NAME_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-")
# What follows a name in an assignment, matched where the name ends (`KEY=v`, `key: v`,
# `"key": "v"`, `key := "v"`, `key => 'v'`, `\"key\": \"v\"` in a notebook's JSON).
_VALUE = re.compile(
    r"""(?:\\?["'])?\]?[ \t]*(?::=|=>|=(?!=)|:(?![:/]))[ \t]*
        (?:(?P<quote>\\?["'`])(?P<quoted>[^"'`\\\n]*)(?P=quote)
          |(?P<bare>[^\s"'`\\,;)}\]\[(]+))""",
    re.VERBOSE,
)

# Names with one of these words hold something about a secret, not the secret itself.
_NOT_A_SECRET_WORDS = frozenset(
    """hash hashed digest checksum sha sha1 sha256 md5 url uri endpoint file path dir name type
    length len size min max count field header prefix suffix env var format pattern regex
    label template message msg text help hint error prompt title policy rule expires expiry
    expiration ttl timeout mode enabled required version kind class cls validator strength
    public publishable id ids uuid limit param column table mask algorithm alg ref in
    placeholder example sample rotation reset confirm fingerprint last used changed updated
    created at date time request continuation next page paging pagination idempotency change
    update lifecycle verification csrf nonce socket""".split()  # noqa: SIM905
)
# ... and names that start with one of these are flags, counters or accessors.
_NOT_A_SECRET_FIRST = frozenset(
    "no max min num is has use should get set show hide check".split()  # noqa: SIM905
)
_WORD = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+")
_PASSWORD_NAME = re.compile(r"pass(?:word|wd|phrase)|pwd", re.IGNORECASE)
_PATHLIKE = re.compile(
    r"^(?:[~.]{0,2}/|[A-Za-z]:\\)|\.(?:pem|key|json|txt|p12|crt|cfg|ya?ml)$|/.*\.[A-Za-z0-9]{1,5}$"
)
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*$")
# Outside code too, a bare dotted name or a CONSTANT_NAME without digits is a reference.
_REFERENCE_PATH = re.compile(r"^(?:[A-Za-z_]+(?:\.[A-Za-z_]+)+|[A-Z]+(?:_[A-Z]+)+)$")
_MIXED_RUN = re.compile(r"(?=[A-Za-z0-9]{10})(?=[A-Za-z0-9]{0,9}[0-9])(?=[A-Za-z0-9]{0,9}[A-Za-z])")
_CLASSES = tuple(re.compile(c) for c in ("[a-z]", "[A-Z]", "[0-9]", "[^A-Za-z0-9]"))
_SNAKE_WORDS = re.compile(r"^[a-z]+(?:[_-][a-z]+)+$")
_CAMEL_WORD = re.compile(r"[A-Z][a-z]{2,}")
_NUMBERLIKE = re.compile(r"^[0-9.:+-]+$")
_PROSE = re.compile(r"[A-Za-z]{2,}\s+[A-Za-z]{2,}")
#: File kinds where an unquoted value is code (a variable, a call), not a literal.
CODE_SUFFIXES = frozenset(
    {".py", ".pyi", ".js", ".jsx", ".mjs", ".ts", ".tsx", ".go", ".rb", ".java", ".kt", ".php",
     ".cs", ".rs", ".swift", ".scala", ".c", ".h", ".cc", ".cpp", ".ipynb", ".vue"}
)  # fmt: skip


@dataclass(frozen=True)
class KeywordMatch:
    kind: str
    title: str
    severity: Severity
    start: int
    end: int
    value: str


def keyword_match(text: str, position: int, code: bool) -> KeywordMatch | None:
    """The secret assigned to the name around `position` (where a keyword was found), if
    that name is assigned a value worth reporting."""
    rest = _NAME_REST.match(text, position)
    end = rest.end() if rest is not None else position
    # Most keywords stand in code or prose, not before an assignment: reject those with
    # one look at what follows the name.
    if _ASSIGNS.match(text, end) is None:
        return None
    match = _VALUE.match(text, end)
    if match is None:
        return None
    start = position
    while start > 0 and text[start - 1] in _NAME_CHARS:
        start -= 1
    if start > 0 and text[start - 1] in _PATH_SEPARATORS:
        return None  # a segment of a path or an ARN (`...:secret:name`), not a name
    name = text[start:end].strip(".-_")
    quoted = match.group("quote") is not None
    group = "quoted" if quoted else "bare"
    value = match.group(group)
    if not _worth_reporting(name, value, quoted, code):
        return None
    kind, title = (
        ("password-assignment", "Password in a file")
        if _PASSWORD_NAME.search(name)
        else ("generic-secret", "Secret, token or key in a file")
    )
    return KeywordMatch(kind, title, Severity.HIGH, match.start(group), match.end(group), value)


def _words(name: str) -> list[str]:
    """`DB_PASSWORD_HASH`, `passwordHash` and `password-hash` all give password, hash."""
    return [w.lower() for w in _WORD.findall(name)]


def _secret_name(words: list[str]) -> bool:
    joined = " ".join(words)
    if any(secret in joined for secret in _SECRET_WORDS):
        return True
    return bool(_SECRET_NAMES.intersection(words)) or ("key" in words and len(words) > 1)


def _worth_reporting(name: str, value: str, quoted: bool, code: bool) -> bool:
    words = _words(name)
    if not value or not _secret_name(words) or _NOT_A_SECRET_WORDS.intersection(words):
        return False
    if words[0] in _NOT_A_SECRET_FIRST and len(words) > 1:
        return False
    if not quoted and (_REFERENCE_PATH.match(value) or (code and _IDENTIFIER.match(value))):
        return False  # a variable or attribute: `password = settings.DB_PASSWORD`
    if is_placeholder(value) or _PATHLIKE.search(value) or _NUMBERLIKE.match(value):
        return False
    if "://" in value or _PROSE.search(value):
        return False
    classes = sum(1 for pattern in _CLASSES if pattern.search(value))
    if _PASSWORD_NAME.search(name):
        # A value that names what it is (`"password": "secret-field"`) is a label, and
        # lowercase words joined by `_` or `-` (`not_supported`) an identifier.
        if "secret" in value.lower() or _SNAKE_WORDS.match(value):
            return False
        return len(value) >= 8 and len(set(value)) >= 5 and classes >= 2
    if len(value) < 16 or classes < 2:
        return False
    # Random, not words: a long run mixing letters and digits (hex, base64), or a high
    # entropy over the whole value (keys with punctuation in them).
    if _wordy(value):
        return False
    bits = entropy(value)
    return bits >= 4.2 or (bits >= 3.0 and _MIXED_RUN.search(value) is not None)


def _wordy(value: str) -> bool:
    """CamelCase words (`Ipv6CidrAssociations`): an identifier. Random text seldom has an
    uppercase letter followed by two lowercase ones, and lowercase tokens have none."""
    in_words = sum(len(run) for run in _CAMEL_WORD.findall(value))
    return in_words / len(value) >= 0.6
