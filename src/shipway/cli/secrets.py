"""`shipway secrets`: set, get, list, rotate and delete the secrets of an environment in
its backend (`config.secrets.backend`).

A value is read from standard input (or `--from-file`), never from the command line,
where other users could see it; it is only printed by `get --reveal`.
"""

from __future__ import annotations

import getpass
import os
import secrets as random
import sys
from pathlib import Path
from typing import Annotated

import typer
from pydantic import SecretStr
from rich.table import Table
from rich.text import Text

from shipway.cli.options import (
    DEFAULT_FILE,
    EnvOpt,
    FileOpt,
    OutputFormat,
    OutputOpt,
    StateOpt,
    manifest,
    workspace,
)
from shipway.cli.output import console, print_json
from shipway.config.errors import SecretError
from shipway.config.manager import ConfigurationManager
from shipway.config.secrets.keys import NEW_MASTER_KEY_ENV
from shipway.config.secrets.local import LocalSecretBackend
from shipway.errors import InputError
from shipway.manifest import resolve_environment

secrets_app = typer.Typer(
    help="Manage the secrets of an environment in its secret backend.", no_args_is_help=True
)
NameArg = Annotated[str, typer.Argument(help="Secret name, as in ${secret:NAME}.")]
MAX_VALUE = 1024 * 1024


def _manager(file: Path, env: str, state: str | None) -> ConfigurationManager:
    loaded = manifest(file)
    return ConfigurationManager(
        loaded, resolve_environment(loaded, env), workspace(file, state).home
    )


def _read_value(from_file: Path | None) -> SecretStr:
    if from_file is not None:
        try:
            data = from_file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            raise InputError(f"cannot read {from_file}: {type(e).__name__}") from e
    elif sys.stdin.isatty():
        data = getpass.getpass("value (not echoed): ")
    else:
        data = sys.stdin.read(MAX_VALUE + 1)
    if len(data) > MAX_VALUE:
        raise InputError(f"a secret is at most {MAX_VALUE} bytes")
    value = data.removesuffix("\n").removesuffix("\r")
    if not value:
        raise InputError("empty secret value: pass it on standard input or with --from-file")
    return SecretStr(value)


@secrets_app.command("set")
def set_(
    env: EnvOpt,
    name: NameArg,
    from_file: Annotated[
        Path | None, typer.Option("--from-file", help="Read the value from this file.")
    ] = None,
    file: FileOpt = DEFAULT_FILE,
    state: StateOpt = None,
    output: OutputOpt = OutputFormat.text,
) -> None:
    """Create or replace secret NAME of ENV; the value comes from standard input."""
    manager = _manager(file, env, state)
    backend = manager.backend()
    backend.set(name, _read_value(from_file))
    if output is OutputFormat.json:
        print_json({"name": name, "backend": backend.name, "environment": env, "set": True})
    else:
        console.print(f"secret {name} set in the {backend.name} backend for {env}", markup=False)


@secrets_app.command("get")
def get(
    env: EnvOpt,
    name: NameArg,
    reveal: Annotated[bool, typer.Option("--reveal", help="Print the value itself.")] = False,
    file: FileOpt = DEFAULT_FILE,
    state: StateOpt = None,
    output: OutputOpt = OutputFormat.text,
) -> None:
    """Show that secret NAME exists (masked), or print its value with --reveal."""
    backend = _manager(file, env, state).backend()
    value = backend.get(name)
    if reveal:
        sys.stdout.write(value.get_secret_value() + "\n")
        return
    if output is OutputFormat.json:
        print_json({"name": name, "backend": backend.name, "value": str(value)})
    else:
        console.print(f"{name}: {value} ({backend.name} backend, {env})", markup=False)


@secrets_app.command("list")
def list_(
    env: EnvOpt,
    file: FileOpt = DEFAULT_FILE,
    state: StateOpt = None,
    output: OutputOpt = OutputFormat.text,
) -> None:
    """List the names of ENV's secrets, and whether the configuration uses them."""
    manager = _manager(file, env, state)
    backend = manager.backend()
    names = backend.names()
    try:
        used = set(manager.resolve(check=False).resolved.secret_names)
    except InputError:
        used = set()
    missing = sorted(used - set(names))
    if output is OutputFormat.json:
        print_json(
            {
                "backend": backend.name,
                "secrets": [{"name": n, "used": n in used} for n in names],
                "missing": missing,
            }
        )
        return
    table = Table("secret", "used by config", title=f"{backend.name} backend, {env}")
    for name in names:
        table.add_row(Text(name), "yes" if name in used else "")
    for name in missing:
        table.add_row(Text(name, style="red"), Text("yes (missing!)", style="red"))
    console.print(table)


@secrets_app.command("rotate")
def rotate(
    env: EnvOpt,
    name: Annotated[
        str | None,
        typer.Argument(help="Give NAME a new random value; without it, rotate the vault key."),
    ] = None,
    length: Annotated[int, typer.Option("--length", help="Bytes of randomness.")] = 32,
    file: FileOpt = DEFAULT_FILE,
    state: StateOpt = None,
    output: OutputOpt = OutputFormat.text,
) -> None:
    """Rotate the local vault's master key (re-encrypting every secret), or give secret
    NAME a new random value. The new key comes from SHIPWAY_NEW_MASTER_KEY, or is made
    and kept in the OS keyring when the old one was there."""
    backend = _manager(file, env, state).backend()
    if name is not None:
        if not 16 <= length <= 1024:
            raise InputError("--length is between 16 and 1024 bytes")
        backend.get(name)  # rotate what exists; `set` creates
        backend.set(name, SecretStr(random.token_urlsafe(length)))
        message = f"secret {name} has a new random value ({backend.name} backend, {env})"
        count = 1
    else:
        if not isinstance(backend, LocalSecretBackend):
            raise SecretError(
                f"the {backend.name} backend keeps its own keys: rotate a secret with "
                "`shipway secrets rotate -e ENV NAME`"
            )
        count = backend.vault.rotate(os.environ.get(NEW_MASTER_KEY_ENV) or None)
        message = f"master key rotated: {count} secrets re-encrypted"
        if os.environ.get(NEW_MASTER_KEY_ENV):
            message += f"; use the new key as SHIPWAY_MASTER_KEY (unset {NEW_MASTER_KEY_ENV})"
    if output is OutputFormat.json:
        print_json({"rotated": count, "name": name, "backend": backend.name})
    else:
        console.print(message, markup=False)


@secrets_app.command("delete")
def delete(
    env: EnvOpt,
    name: NameArg,
    file: FileOpt = DEFAULT_FILE,
    state: StateOpt = None,
    output: OutputOpt = OutputFormat.text,
) -> None:
    """Delete secret NAME of ENV."""
    backend = _manager(file, env, state).backend()
    backend.delete(name)
    if output is OutputFormat.json:
        print_json({"name": name, "deleted": True, "backend": backend.name})
    else:
        console.print(
            f"secret {name} deleted from the {backend.name} backend ({env})", markup=False
        )


def register(app: typer.Typer) -> None:
    app.add_typer(secrets_app, name="secrets")
