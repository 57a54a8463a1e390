"""`postgres.database` and `postgres.role` through the real `shipway provision` command:
apply, an empty second plan, drift after a change by hand, rotate, destroy; the generated
passwords appear in no output and nowhere in the state store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from shipway.config.secrets.keys import new_master_key
from tests.provisioner.databases import (
    admin_pg_url,
    everything_written,
    run_shipway,
    scram_matches,
    unique,
    vault,
)

MANIFEST = """\
version: 1
project: {project}
environments:
  dev: {{}}
resources:
  db:
    type: postgres.database
    server: ${{secret:pg_admin_url}}
    extensions: [citext]
  reporting:
    type: postgres.role
    server: ${{secret:pg_admin_url}}
    connection_limit: 3
    grants:
      - database: ${{resources.db.database}}
        privileges: [connect]
      - database: ${{resources.db.database}}
        schema: public
        tables: [select]
"""


@pytest.fixture
def project(tmp_path: Path) -> Iterator[tuple[Path, str, str]]:
    """(folder, project name, master key) of a project whose vault holds the admin URL."""
    admin = admin_pg_url()
    name, key = unique("p"), new_master_key()
    (tmp_path / "shipway.yaml").write_text(MANIFEST.format(project=name), encoding="utf-8")
    done = run_shipway(
        "secrets", "set", "-e", "dev", "pg_admin_url", input=admin, cwd=tmp_path, key=key
    )
    assert done.returncode == 0, done.stderr
    yield tmp_path, name, key
    like = f"managed by shipway: {name}/%"
    with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
        for (db,) in conn.execute(
            "SELECT datname FROM pg_database WHERE shobj_description(oid, 'pg_database') LIKE %s",
            [like],
        ).fetchall():
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(db))
            )
        for (role,) in conn.execute(
            "SELECT rolname FROM pg_roles WHERE shobj_description(oid, 'pg_authid') LIKE %s",
            [like],
        ).fetchall():
            conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


def test_apply_plan_drift_rotate_destroy(project: tuple[Path, str, str]) -> None:
    root, name, key = project
    admin = admin_pg_url()
    database, reporter = f"{name}_dev_db", f"{name}_dev_reporting"
    outputs: list[str] = []

    def shipway(*args: str) -> tuple[int, str]:
        done = run_shipway(*args, cwd=root, key=key)
        outputs.append(done.stdout + done.stderr)
        return done.returncode, done.stdout + done.stderr

    code, out = shipway("provision", "apply", "-e", "dev", "--yes")
    assert code == 0, out
    assert "2 created" in out
    code, out = shipway("provision", "plan", "-e", "dev")
    assert code == 0 and "No changes." in out, out

    secrets = vault(root, name, key)
    app_password = secrets.get("resources/db/password").get_secret_value()
    app_url = f"postgresql://{database}:{app_password}@127.0.0.1:5432/{database}"
    with psycopg.connect(app_url, autocommit=True, connect_timeout=5) as conn:
        conn.execute("CREATE TABLE notes (id int)")
        conn.execute("INSERT INTO notes VALUES (1)")
    reporter_url = app_url.replace(f"{database}:{app_password}", f"{reporter}:x")
    with psycopg.connect(reporter_url, connect_timeout=5) as conn:
        assert conn.execute("SELECT id FROM notes").fetchall() == [(1,)]

    with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
        conn.execute(
            sql.SQL("ALTER DATABASE {} CONNECTION LIMIT 9").format(sql.Identifier(database))
        )
        conn.execute(
            sql.SQL("REVOKE CONNECT ON DATABASE {} FROM {}").format(
                sql.Identifier(database), sql.Identifier(reporter)
            )
        )
    code, out = shipway("provision", "drift", "-e", "dev")
    assert code == 1, out
    assert "db (postgres.database): changed outside shipway" in out
    assert "connection_limit: -1 (recorded) -> 9 (now)" in out
    assert "reporting (postgres.role): changed outside shipway" in out
    code, out = shipway("provision", "apply", "-e", "dev", "--yes")
    assert code == 0, out
    code, out = shipway("provision", "drift", "-e", "dev")
    assert code == 0, out

    code, out = shipway("provision", "rotate", "db", "-e", "dev")
    assert code == 0, out
    rotated = vault(root, name, key).get("resources/db/password").get_secret_value()
    assert rotated != app_password
    with psycopg.connect(admin, connect_timeout=5) as conn:
        stored = conn.execute(
            "SELECT rolpassword FROM pg_authid WHERE rolname = %s", [database]
        ).fetchone()
    assert stored is not None and scram_matches(stored[0], rotated)

    code, out = shipway("provision", "destroy", "-e", "dev", "--yes")
    assert code == 0, out
    with psycopg.connect(admin, connect_timeout=5) as conn:
        assert (
            conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database]).fetchone()
            is None
        )
        assert (
            conn.execute(
                "SELECT 1 FROM pg_roles WHERE rolname = ANY(%s)", [[database, reporter]]
            ).fetchone()
            is None
        )

    written = everything_written(root)
    for secret in (app_password, rotated):
        assert not any(secret in text for text in outputs)
        assert secret.encode() not in written
