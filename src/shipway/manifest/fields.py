"""Building blocks every manifest section uses: the strict base model and the scalar types.

Durations, sizes, rates and percentages are written as text with a unit (`2s`, `256Mi`,
`200/s`, `0.5%`). They validate into numbers (seconds, bytes, per second, a fraction) that
remember how they were written, serialize back to that text in JSON, and appear in the JSON
Schema as strings with a pattern, so editors check them too.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import PurePosixPath, PureWindowsPath
from typing import Annotated, Any, Self
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    WithJsonSchema,
    model_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, core_schema

from shipway.manifest.references import has_reference


class ModelProblem(ValueError):
    """A validation problem that knows where below the current model it is.

    Raised inside validators; pydantic keeps it in the error context, and the loader uses
    `path` (relative to the model that raised) to point at the right YAML node.
    """

    def __init__(self, message: str, path: tuple[str | int, ...] = (), *, at_key: bool = False):
        super().__init__(message)
        self.message = message
        self.path = path
        self.at_key = at_key


def did_you_mean(word: str, choices: list[str]) -> str:
    """` (did you mean 'x'?)` when a choice is close to `word`, else an empty string."""
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


class ManifestModel(BaseModel):
    """Base of every manifest model: unknown keys are errors, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    @model_validator(mode="before")
    @classmethod
    def _reject_unknown_keys(cls, data: Any) -> Any:
        # NOTE: `extra="forbid"` alone reports "Extra inputs are not permitted" without the
        # keys that were meant; checking first lets the message suggest the closest key.
        if isinstance(data, dict) and cls.model_config.get("extra") == "forbid":
            known = [field.alias or name for name, field in cls.model_fields.items()]
            for key in data:
                if key not in known:
                    hint = did_you_mean(str(key), known)
                    raise ModelProblem(f"unknown key '{key}'{hint}", (str(key),), at_key=True)
        return data


# --- numbers with units -----------------------------------------------------------------


class Seconds(float):
    """A duration in seconds that remembers its text (`2s`)."""

    text: str

    def __new__(cls, value: float, text: str) -> Self:
        obj = super().__new__(cls, value)
        obj.text = text
        return obj

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (float(self), self.text))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.text!r})"


class Bytes(int):
    """A size in bytes that remembers its text (`256Mi`)."""

    text: str

    def __new__(cls, value: int, text: str) -> Self:
        obj = super().__new__(cls, value)
        obj.text = text
        return obj

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (int(self), self.text))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.text!r})"


class PerSecond(Seconds):
    """A rate in events per second that remembers its text (`200/s`)."""


class Fraction(Seconds):
    """A fraction (0.005) that remembers its text (`0.5%`)."""


_NUMBER = r"[0-9]+(?:\.[0-9]+)?"
_DURATION_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_SIZE_UNITS = {
    "k": 10**3,
    "M": 10**6,
    "G": 10**9,
    "T": 10**12,
    "Ki": 2**10,
    "Mi": 2**20,
    "Gi": 2**30,
    "Ti": 2**40,
}
_RATE_UNITS = {"s": 1.0, "m": 1 / 60, "h": 1 / 3600}
DURATION_PATTERN = rf"^(?:{_NUMBER}(?:ms|s|m|h|d))+$"
SIZE_PATTERN = rf"^{_NUMBER}(?:Ki|Mi|Gi|Ti|k|M|G|T)$"
RATE_PATTERN = rf"^{_NUMBER}/(?:s|m|h)$"
PERCENT_PATTERN = rf"^{_NUMBER}%$"


def _parse_duration(text: str) -> Seconds:
    total = sum(
        float(number) * _DURATION_UNITS[unit]
        for number, unit in re.findall(rf"({_NUMBER})(ms|s|m|h|d)", text)
    )
    return Seconds(total, text)


def _parse_size(text: str) -> Bytes:
    match = re.fullmatch(rf"({_NUMBER})(\w+)", text)
    assert match is not None  # the pattern was checked first
    return Bytes(round(float(match[1]) * _SIZE_UNITS[match[2]]), text)


def _parse_rate(text: str) -> PerSecond:
    number, unit = text.split("/")
    return PerSecond(float(number) * _RATE_UNITS[unit], text)


def _parse_percent(text: str) -> Fraction:
    return Fraction(float(text[:-1]) / 100, text)


@dataclass(frozen=True)
class UnitText:
    """Pydantic hooks for a number written with a unit: validate, convert, show as text."""

    kind: str
    pattern: str
    examples: tuple[str, ...]
    result: type[float] | type[int]
    parse: Callable[[str], Any]

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> CoreSchema:
        return core_schema.no_info_plain_validator_function(
            self.validate,
            serialization=core_schema.plain_serializer_function_ser_schema(
                _unit_text, when_used="json"
            ),
        )

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return {
            "type": "string",
            "pattern": self.pattern,
            "examples": list(self.examples),
            "x-shipway-kind": self.kind,
        }

    def validate(self, value: Any) -> Any:
        if isinstance(value, self.result) and hasattr(value, "text"):
            return value
        example = " or ".join(repr(e) for e in self.examples)
        if isinstance(value, str) and re.fullmatch(self.pattern, value):
            return self.parse(value)
        if isinstance(value, str):
            raise ValueError(f"invalid {self.kind} {value[:40]!r}: write it like {example}")
        raise ValueError(f"expected a {self.kind} written like {example}, got {value!r}")


def _unit_text(value: Any) -> str:
    return str(value.text)


Duration = Annotated[
    Seconds,
    UnitText("duration", DURATION_PATTERN, ("200ms", "2s", "1m30s"), Seconds, _parse_duration),
]
Size = Annotated[
    Bytes, UnitText("size", SIZE_PATTERN, ("256Mi", "1Gi", "500M"), Bytes, _parse_size)
]
Rate = Annotated[
    PerSecond, UnitText("rate", RATE_PATTERN, ("200/s", "60/m"), PerSecond, _parse_rate)
]
Percent = Annotated[
    Fraction, UnitText("percentage", PERCENT_PATTERN, ("0.5%", "5%"), Fraction, _parse_percent)
]


# --- checked strings ----------------------------------------------------------------------

NAME_PATTERN = r"^[a-z][a-z0-9_-]{0,62}$"
VARIABLE_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"
FILE_MODE_PATTERN = r"^0?[0-7]{3}$"


def _check_name(value: str) -> str:
    if not re.fullmatch(NAME_PATTERN, value):
        raise ValueError(
            f"invalid name {value[:70]!r}: use lowercase letters, digits, '-' and '_', "
            "starting with a letter (at most 63 characters)"
        )
    return value


def _check_variable(value: str) -> str:
    if not re.fullmatch(VARIABLE_PATTERN, value):
        raise ValueError(
            f"invalid variable name {value[:70]!r}: use letters, digits and '_', "
            "not starting with a digit"
        )
    return value


def _check_project_path(value: str) -> str:
    if not value:
        raise ValueError("empty path")
    if PurePosixPath(value).is_absolute() or PureWindowsPath(value).anchor or "\x00" in value:
        raise ValueError(f"{value!r} must be a path relative to the manifest's folder")
    if ".." in re.split(r"[\\/]", value):
        raise ValueError(f"{value!r} leaves the manifest's folder ('..' is not allowed)")
    return value


def _reject_number_mode(value: Any) -> Any:
    # NOTE: unquoted 0750 is read as the decimal number 750; a mode must keep its digits.
    if isinstance(value, int) and not isinstance(value, bool):
        raise ValueError(f'file modes are quoted octal strings such as "0750", got {value}')
    return value


def _check_file_mode(value: str) -> str:
    if not re.fullmatch(FILE_MODE_PATTERN, value):
        raise ValueError(f'invalid file mode {value[:20]!r}: use octal digits such as "0750"')
    return value


def _check_http_url(value: str) -> str:
    if has_reference(value):
        return value  # resolved and checked by its owner later
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"invalid URL {value[:80]!r}: expected http://... or https://...")
    return value


def _check_ssh_url(value: str) -> str:
    if has_reference(value):
        return value
    problem = f"invalid host {value[:80]!r}: expected ssh://[user@]host[:port]"
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError as e:
        raise ValueError(problem) from e
    if parts.scheme != "ssh" or not parts.hostname or parts.path not in ("", "/"):
        raise ValueError(problem)
    if port is not None and not 0 < port < 65536:
        raise ValueError(problem)
    return value


def _check_host_port(value: str) -> str:
    if has_reference(value):
        return value
    host, _, port = value.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"invalid address {value[:80]!r}: expected host:port")
    return value


def _string_schema(pattern: str | None = None, **extra: Any) -> WithJsonSchema:
    schema: dict[str, Any] = {"type": "string", **extra}
    if pattern:
        schema["pattern"] = pattern
    return WithJsonSchema(schema)


Name = Annotated[str, AfterValidator(_check_name), _string_schema(NAME_PATTERN)]
VariableName = Annotated[str, AfterValidator(_check_variable), _string_schema(VARIABLE_PATTERN)]
ProjectPath = Annotated[str, AfterValidator(_check_project_path), _string_schema()]
FileMode = Annotated[
    str,
    BeforeValidator(_reject_number_mode),
    AfterValidator(_check_file_mode),
    _string_schema(FILE_MODE_PATTERN),
]
# NOTE: URLs and addresses may hold `${...}` references, so their schema cannot carry a
# pattern; the validators check them when they are literal.
HttpUrl = Annotated[str, AfterValidator(_check_http_url), _string_schema()]
SshUrl = Annotated[str, AfterValidator(_check_ssh_url), _string_schema()]
HostPort = Annotated[str, AfterValidator(_check_host_port), _string_schema()]


def keyed_by(*keys: str) -> Callable[[Any], str | None]:
    """A discriminator for unions whose members are told apart by which key is present.

    Tags are the key in angle brackets, so they can never be mistaken for a manifest key
    when the loader maps an error location back to the YAML.
    """

    def pick(value: Any) -> str | None:
        for key in keys:
            if isinstance(value, dict) and key in value:
                return f"<{key}>"
            if isinstance(value, BaseModel) and getattr(value, key, None) is not None:
                return f"<{key}>"
        return None

    return pick


def require_one_of(model: BaseModel, what: str, *keys: str) -> None:
    """Raise when not exactly one of `keys` is set on `model` (used by after-validators)."""
    present = [key for key in keys if getattr(model, key, None) is not None]
    if len(present) != 1:
        found = f" (found {' and '.join(present)})" if present else ""
        raise ModelProblem(f"{what} needs exactly one of: {', '.join(keys)}{found}")
