"""Turning a manifest `RequestSpec` into the bytes sent: URL, query, headers, auth and
body, with references filled in."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx

from shipway.manifest.testing import AuthSpec, RequestSpec
from shipway.tester.redaction import Redactor
from shipway.tester.references import References, UnresolvedReferenceError

DEFAULT_TIMEOUT = 10.0


@dataclass(frozen=True)
class BuiltRequest:
    """A request ready to send."""

    method: str
    url: str
    headers: dict[str, str]
    content: bytes | None
    timeout: float

    @property
    def label(self) -> str:
        return f"{self.method} {self.url}"

    def report(self, redactor: Redactor) -> dict[str, Any]:
        """The request as an artifact shows it: credentials masked."""
        body = None if self.content is None else self.content.decode("utf-8", "replace")
        return {
            "method": self.method,
            "url": redactor.redact(self.url),
            "headers": redactor.headers(self.headers),
            "body": None if body is None else redactor.redact(body),
        }


def _query_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def auth_header(auth: AuthSpec, refs: References) -> str:
    """The `Authorization` value of `auth`; the credentials join the redactor."""
    if auth.bearer is not None:
        return "Bearer " + refs.text(auth.bearer)
    assert auth.basic is not None  # the model requires one of them
    pair = f"{refs.text(auth.basic.username)}:{refs.text(auth.basic.password)}"
    token = base64.b64encode(pair.encode()).decode()
    refs.redactor.add(token)
    return "Basic " + token


def build_request(spec: RequestSpec, refs: References, base_url: str | None) -> BuiltRequest:
    """The request `spec` describes; raises UnresolvedReferenceError."""
    if spec.url is not None:
        url = refs.text(spec.url)
    elif base_url is None:
        raise UnresolvedReferenceError(
            f"{spec.method} {spec.path}: no service URL to send a path to (set 'url')"
        )
    else:
        url = base_url.rstrip("/") + refs.text(spec.path or "/")
    if spec.query:
        params = {refs.text(k): refs.text(_query_text(v)) for k, v in spec.query.items()}
        url = str(httpx.URL(url).copy_merge_params(params))
    headers = {name: refs.text(value) for name, value in spec.headers.items()}
    lowered = {name.lower() for name in headers}
    if spec.auth is not None:
        headers["Authorization"] = auth_header(spec.auth, refs)
    content: bytes | None = None
    content_type: str | None = None
    if spec.json_ is not None:
        content = json.dumps(refs.value(spec.json_)).encode()
        content_type = "application/json"
    elif spec.form is not None:
        content = urlencode({refs.text(k): refs.text(v) for k, v in spec.form.items()}).encode()
        content_type = "application/x-www-form-urlencoded"
    elif spec.body is not None:
        content = refs.text(spec.body).encode()
        content_type = "text/plain; charset=utf-8"
    if content_type is not None and "content-type" not in lowered:
        headers["Content-Type"] = content_type
    timeout = float(spec.timeout) if spec.timeout is not None else DEFAULT_TIMEOUT
    return BuiltRequest(spec.method, url, headers, content, timeout)
