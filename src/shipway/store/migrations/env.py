"""Alembic environment for the state store.

`shipway.store.schema` runs migrations programmatically and hands its open connection
(already inside the locked transaction) through `config.attributes["connection"]`.
Running the `alembic` command by hand works too: set `sqlalchemy.url` in the config.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine

from shipway.store.tables import metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        # NOTE: SQLite cannot ALTER most things; batch mode rebuilds the table instead.
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def main() -> None:
    connection = context.config.attributes.get("connection")
    if isinstance(connection, Connection):
        _run(connection)
        return
    url = context.config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("pass a connection in config.attributes or set sqlalchemy.url")
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            _run(conn)
            conn.commit()
    finally:
        engine.dispose()


main()
