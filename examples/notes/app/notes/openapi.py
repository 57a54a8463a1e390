"""The OpenAPI 3.1 description of the JSON API, /health and /metrics.

Written by hand, next to the code it describes; the tests check it against the running
service. `examples/notes/app/openapi.json` is a copy for tools that read a file
(shipway's contract tests); regenerate it after a change with

    python -m notes.openapi > openapi.json      (from examples/notes/app)

`info.version` is the version of this API contract, not the deployed release
(`NOTES_VERSION`), so the document is the same for every release of one contract.
"""

from __future__ import annotations

import copy
import json
import sys
from typing import Any

from notes.validation import DEFAULT_LIMIT, MAX_LIMIT, MAX_TEXT_LENGTH

JSON = "application/json"
Schema = dict[str, Any]


def _ref(kind: str, name: str) -> Schema:
    return {"$ref": f"#/components/{kind}/{name}"}


def _json(schema: Schema, description: str) -> Schema:
    return {"description": description, "content": {JSON: {"schema": schema}}}


def _error(description: str) -> Schema:
    return _json(_ref("schemas", "Error"), description)


SCHEMAS: dict[str, Schema] = {
    "NewNote": {
        "type": "object",
        "properties": {
            "text": {"type": "string", "minLength": 1, "maxLength": MAX_TEXT_LENGTH},
        },
        "required": ["text"],
        "additionalProperties": False,
    },
    "Note": {
        "type": "object",
        "properties": {
            "id": {"type": "integer", "format": "int64", "minimum": 1},
            "text": {"type": "string", "minLength": 1, "maxLength": MAX_TEXT_LENGTH},
            "created_at": {"type": "string", "format": "date-time"},
        },
        "required": ["id", "text", "created_at"],
        "additionalProperties": False,
    },
    "NoteList": {
        "type": "array",
        "items": _ref("schemas", "Note"),
        "maxItems": MAX_LIMIT,
        "description": "Newest first.",
    },
    "Error": {
        "type": "object",
        "properties": {"error": {"type": "string", "description": "What went wrong."}},
        "required": ["error"],
        "additionalProperties": False,
    },
    "Health": {
        "type": "object",
        "properties": {
            "status": {"type": "string", "enum": ["ok", "failing", "unavailable"]},
            "version": {"type": "string", "description": "The release (NOTES_VERSION)."},
            "reason": {"type": "string", "description": "Why the status is not ok."},
        },
        "required": ["status", "version"],
        "additionalProperties": False,
    },
}

RESPONSES: dict[str, Schema] = {
    "BadRequest": _error("The request was malformed; `error` says how."),
    "NotFound": _error("There is no note with this id."),
    "Unavailable": _error("The database did not answer."),
}

PARAMETERS: dict[str, Schema] = {
    "NoteId": {
        "name": "id",
        "in": "path",
        "required": True,
        "schema": {"type": "integer", "format": "int64", "minimum": 1},
    },
    "Limit": {
        "name": "limit",
        "in": "query",
        "required": False,
        "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT},
    },
}


def _paths() -> dict[str, Schema]:
    unavailable = _ref("responses", "Unavailable")
    note = _json(_ref("schemas", "Note"), "The note.")
    return {
        "/health": {
            "get": {
                "operationId": "health",
                "summary": "Whether the service and its database answer.",
                "responses": {
                    "200": _json(_ref("schemas", "Health"), "Healthy."),
                    "503": _json(_ref("schemas", "Health"), "Not healthy; `reason` says why."),
                },
            }
        },
        "/metrics": {
            "get": {
                "operationId": "metrics",
                "summary": "Prometheus metrics in the text exposition format.",
                "responses": {
                    "200": {
                        "description": "http_requests_total, http_request_duration_seconds, "
                        "notes_total and process metrics.",
                        "content": {"text/plain": {"schema": {"type": "string"}}},
                    }
                },
            }
        },
        "/notes": {
            "get": {
                "operationId": "listNotes",
                "summary": "The newest notes, newest first.",
                "parameters": [_ref("parameters", "Limit")],
                "responses": {
                    "200": _json(_ref("schemas", "NoteList"), "The notes."),
                    "400": _ref("responses", "BadRequest"),
                    "503": unavailable,
                },
            },
            "post": {
                "operationId": "createNote",
                "summary": "Store a new note.",
                "requestBody": {
                    "required": True,
                    "content": {JSON: {"schema": _ref("schemas", "NewNote")}},
                },
                "responses": {
                    "201": {
                        **note,
                        "headers": {
                            "Location": {
                                "description": "The note's URL.",
                                "schema": {"type": "string"},
                            }
                        },
                    },
                    "400": _ref("responses", "BadRequest"),
                    "413": _error("The body is larger than the service accepts."),
                    "415": _error("The body is not application/json."),
                    "503": unavailable,
                },
            },
        },
        "/notes/{id}": {
            "parameters": [_ref("parameters", "NoteId")],
            "get": {
                "operationId": "getNote",
                "summary": "One note.",
                "responses": {
                    "200": note,
                    "404": _ref("responses", "NotFound"),
                    "503": unavailable,
                },
            },
            "delete": {
                "operationId": "deleteNote",
                "summary": "Delete one note.",
                "responses": {
                    "204": {"description": "Deleted."},
                    "404": _ref("responses", "NotFound"),
                    "503": unavailable,
                },
            },
        },
    }


def openapi_document() -> dict[str, Any]:
    """A fresh copy of the document (callers may change it)."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "notes",
            "version": "1.0.0",
            "summary": "The example application deployed by shipway.",
            "license": {"name": "Apache-2.0", "identifier": "Apache-2.0"},
        },
        "paths": _paths(),
        "components": {
            "schemas": copy.deepcopy(SCHEMAS),
            "responses": copy.deepcopy(RESPONSES),
            "parameters": copy.deepcopy(PARAMETERS),
        },
    }


def main() -> None:
    json.dump(openapi_document(), sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
