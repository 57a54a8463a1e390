"""Values that stand where a secret would go but are not one: documentation examples,
template references, masked values, repeated characters."""

from __future__ import annotations

import math
import re
from collections import Counter

# Substrings (lowercase) that mark an example or a template, not a credential.
_MARKERS = (
    "example",
    "sample",
    "placeholder",
    "dummy",
    "changeme",
    "change_me",
    "change-me",
    "your_",
    "your-",
    "yourkey",
    "yourtoken",
    "yoursecret",
    "xxxx",
    "****",
    "...",
    "…",
    "<",
    ">",
    "${",
    "{{",
    "}}",
    "redacted",
    "replace_me",
    "replaceme",
    "insert_",
    "notreal",
    "not_real",
    "not-a-real",
    "fake",
    "mock",
    "0123456789",
    "123456789",
    "abcdefghij",
    "test_token",
    "test-token",
    "secret_here",
    "token_here",
    "key_here",
)
_MARKER = re.compile("|".join(re.escape(marker) for marker in _MARKERS))
_WORDS = frozenset(
    {
        "none",
        "null",
        "nil",
        "true",
        "false",
        "undefined",
        "empty",
        "secret",
        "password",
        "passwd",
        "token",
        "changeit",
        "hunter2",
        "required",
        "optional",
        "string",
        "str",
        "bytes",
        "env",
        "todo",
        "tbd",
        "n/a",
        # Well-known defaults: a misconfiguration, not a leaked secret.
        "pass",
        "pw",
        "admin",
        "root",
        "guest",
        "user",
        "default",
        "demo",
        "postgres",
        "mysql",
        "redis",
        "rabbitmq",
        "passw0rd",
        "test",
        "foo",
        "bar",
        "baz",
        "qux",
        "foobar",
    }
)
_REFERENCE = re.compile(
    r"^(?:\$[{(A-Za-z_]|%\(|%[A-Za-z_]+%|ENC\[|vault:|secret:|ref\+|arn:)"
    r"|os\.environ|getenv|process\.env|env\(|secrets\.|\.get\(|%\(\w+\)[sdr]|#\{\w"
    # A format field (`{name}`, `{user.id}`, `{rng.randint(1, 9)}`): a template, not a value.
    r"|\{[A-Za-z_][\w.]*(?:\(|\[|\}|:)|^\{[A-Za-z_]"
    r"|^[*xX•]+$",
    re.IGNORECASE,
)


_LEET = str.maketrans("@4$5310!", "aassleoi")


def is_placeholder(value: str) -> bool:
    """True for values that only look like a secret: examples, references, masks, and
    values that say what they stand for (`my-password`, `P@55w0rd`)."""
    lowered = value.lower()
    if lowered in _WORDS or _REFERENCE.search(value):
        return True
    if "passw" in lowered.translate(_LEET):
        return True
    if _MARKER.search(lowered):
        return True
    distinct = len(set(value))
    return len(value) >= 16 and distinct < 7


def entropy(value: str) -> float:
    """Shannon entropy in bits per character."""
    if not value:
        return 0.0
    total = len(value)
    return -sum(n / total * math.log2(n / total) for n in Counter(value).values())
