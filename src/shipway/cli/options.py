"""Options shared by every command (DESIGN.md section 5) and the objects they build."""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Annotated

import typer

from shipway.manifest import LoadedManifest, load_manifest
from shipway.workspace import Workspace


class OutputFormat(enum.StrEnum):
    text = "text"
    json = "json"


FileOpt = Annotated[Path, typer.Option("--file", "-f", help="The manifest.", show_default=True)]
EnvOpt = Annotated[str, typer.Option("--env", "-e", help="The environment, e.g. dev or prod.")]
StateOpt = Annotated[
    str | None,
    typer.Option(
        "--state",
        envvar="SHIPWAY_STATE_URL",
        help="State store URL: sqlite (default, under .shipway/) or postgresql://...",
    ),
]
OutputOpt = Annotated[
    OutputFormat, typer.Option("--output", "-o", help="text for people, json for programs.")
]
DEFAULT_FILE = Path("shipway.yaml")


def workspace(file: Path, state: str | None) -> Workspace:
    return Workspace.for_manifest(file, state)


def manifest(file: Path) -> LoadedManifest:
    return load_manifest(file)
