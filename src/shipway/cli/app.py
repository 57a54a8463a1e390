"""The `shipway` Typer application and its entry point.

`main` is the one place where errors become messages and exit codes (DESIGN.md
section 5): 0 success, 1 ran and failed, 2 bad input, 3 blocked. Nothing leaks a
traceback unless SHIPWAY_DEBUG=1.
"""

from __future__ import annotations

import os
import sys
import traceback

import typer

from shipway import __version__
from shipway.cli import deployments, project, releases, scan, validate
from shipway.cli.agent import agent_app, worker
from shipway.cli.alerts import alerts_app
from shipway.cli.config import register as register_config
from shipway.cli.logs import register as register_logs
from shipway.cli.metrics import register as register_metrics
from shipway.cli.output import err_console, one_line
from shipway.cli.provision import register as register_provision
from shipway.cli.secrets import register as register_secrets
from shipway.cli.test import register as register_test
from shipway.errors import BlockedError, InputError, ShipwayError

app = typer.Typer(
    name="shipway",
    help="Deploy a service from code on disk to running, verified and watched.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"shipway {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """shipway: deployments that are durable, verified and reversible."""


project.register(app)
deployments.register(app)
scan.register(app)
releases.register(app)
validate.register(app)
register_config(app)
register_secrets(app)
register_test(app)
register_provision(app)
register_logs(app)
register_metrics(app)
app.add_typer(agent_app, name="agent")
app.add_typer(alerts_app, name="alerts")
app.command()(worker)


def exit_code(error: ShipwayError) -> int:
    if isinstance(error, InputError):
        return 2
    if isinstance(error, BlockedError):
        return 3
    return 1


def optional_values(argv: list[str]) -> list[str]:
    """`--wait` takes an optional number of seconds; alone, it means "as long as it takes".
    The option parser has no optional values, so a bare `--wait` is spelled out here."""
    out: list[str] = []
    for index, arg in enumerate(argv):
        following = argv[index + 1] if index + 1 < len(argv) else None
        if arg == "--wait" and (following is None or following.startswith("-")):
            out.append("--wait=forever")
        else:
            out.append(arg)
    return out


def main(argv: list[str] | None = None) -> None:
    """Run the CLI and exit with the contract's code."""
    command = typer.main.get_command(app)
    args = optional_values(sys.argv[1:] if argv is None else argv)
    try:
        result = command.main(args=args, prog_name="shipway", standalone_mode=False)
    except typer.Exit as done:
        sys.exit(done.exit_code)
    except typer.Abort:
        err_console.print("aborted", markup=False)
        sys.exit(130)
    except typer.TyperException as exc:
        formatter = getattr(exc, "format_message", None)
        message = formatter() if callable(formatter) else str(exc)
        err_console.print(f"error: {one_line(message)}", markup=False)
        sys.exit(2)
    except ShipwayError as exc:
        err_console.print(f"error: {one_line(str(exc))}", markup=False)
        sys.exit(exit_code(exc))
    except KeyboardInterrupt:
        err_console.print("interrupted; a queued deployment goes on in the agent", markup=False)
        sys.exit(130)
    except Exception as exc:
        if os.environ.get("SHIPWAY_DEBUG") == "1":
            traceback.print_exc()
        err_console.print(
            f"internal error: {type(exc).__name__}: {one_line(str(exc))} "
            "(set SHIPWAY_DEBUG=1 for the traceback)",
            markup=False,
        )
        sys.exit(1)
    sys.exit(result if isinstance(result, int) else 0)
