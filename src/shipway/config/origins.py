"""Where a configuration value came from: a file position, a `--set` argument, or an
override kept in the store by `shipway config set`. Also the key-path spelling shared by
every message (`server.port`, `hosts[0]`) and by JSON Schema errors (`$.server.port`)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from shipway.config.errors import ConfigError

Path = tuple[str | int, ...]
_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")


@dataclass(frozen=True, slots=True)
class Origin:
    """A source (file path, `--set`, `override`) and, for files, a 1-based position."""

    source: str
    line: int | None = None
    column: int | None = None

    def __str__(self) -> str:
        where = self.source
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        return where

    def error(self, reason: str) -> ConfigError:
        """A ConfigError located here."""
        return ConfigError(reason, path=self.source, line=self.line, column=self.column)


def dotted(path: Sequence[str | int]) -> str:
    """`server.port`, `hosts[0].name`: how messages name a key."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _PLAIN_KEY.fullmatch(part):
            out += f".{part}" if out else part
        else:
            out += f"[{part!r}]"
    return out or "(root)"


def json_path(path: Sequence[str | int]) -> str:
    """`$.server.port`, `$.hosts[0]`, `$['a.b']`: the JSON path of a key."""
    text = dotted(path)
    if text == "(root)":
        return "$"
    return "$" + (text if text.startswith("[") else "." + text)


def parse_key(text: str, where: str) -> Path:
    """`a.b.c` as a key path. Keys are split on dots; each part must be non-empty."""
    parts = text.strip().split(".")
    if not text.strip() or any(not part for part in parts):
        raise ConfigError(f"invalid key {text!r}: write it as a.b.c", path=where)
    return tuple(parts)
