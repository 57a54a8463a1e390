"""Secret backends: the local encrypted vault (modes, authenticated encryption, wrong keys,
tampering, passphrases, the OS keyring, key rotation), `env`, `file`, and `aws` against a
moto server and `vault` against a real Vault-API dev server, through one interface."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import SecretStr

from shipway.config.errors import SecretError, SecretNotFoundError
from shipway.config.secrets import SecretBackend, open_backend
from shipway.config.secrets.keys import new_master_key
from shipway.config.secrets.local import LocalVault
from shipway.errors import InputError

CANARY = "canary-5ecret-value-91d2"


def _backend(tmp_path: Path, name: str, **env: str) -> SecretBackend:
    return open_backend(
        name,
        project="notes",
        environment="dev",
        base_dir=tmp_path,
        home=tmp_path / ".shipway",
        settings={"path": "secrets/${environment}"} if name == "file" else {},
        env=env,
    )


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_local_vault_round_trip_modes_and_ciphertext(tmp_path: Path) -> None:
    key = new_master_key()
    backend = _backend(tmp_path, "local", SHIPWAY_MASTER_KEY=key)
    with pytest.raises(SecretNotFoundError):
        backend.get("db_password")
    backend.set("db_password", SecretStr(CANARY))
    backend.set("github/token", SecretStr("t-1"))
    assert backend.get("db_password").get_secret_value() == CANARY
    assert repr(backend.get("db_password")) == "SecretStr('**********')"
    assert backend.names() == ["db_password", "github/token"]
    root = tmp_path / ".shipway" / "secrets"
    assert _mode(root) == 0o700 and _mode(root / "dev") == 0o700
    files = [root / "vault.json", *sorted((root / "dev").iterdir())]
    assert len(files) == 3
    for file in files:
        assert _mode(file) == 0o600
        assert CANARY not in file.read_text() and key not in file.read_text()
    # Another environment has its own secrets.
    other = open_backend(
        "local",
        project="notes",
        environment="prod",
        base_dir=tmp_path,
        home=tmp_path / ".shipway",
        env={"SHIPWAY_MASTER_KEY": key},
    )
    assert other.names() == []
    backend.delete("github/token")
    assert backend.names() == ["db_password"]
    with pytest.raises(SecretNotFoundError):
        backend.delete("github/token")


def test_wrong_key_tampering_and_moved_files_are_refused(tmp_path: Path) -> None:
    backend = _backend(tmp_path, "local", SHIPWAY_MASTER_KEY=new_master_key())
    backend.set("a", SecretStr(CANARY))
    backend.set("b", SecretStr("other"))
    wrong = _backend(tmp_path, "local", SHIPWAY_MASTER_KEY=new_master_key())
    with pytest.raises(SecretError, match="wrong master key: SHIPWAY_MASTER_KEY does not open"):
        wrong.get("a")
    with pytest.raises(SecretError, match="no master key for the local secret vault"):
        _backend(tmp_path, "local").get("a")
    folder = tmp_path / ".shipway" / "secrets" / "dev"
    # A file copied over another's name does not decrypt: the name is bound to it.
    (folder / "b.secret").write_bytes((folder / "a.secret").read_bytes())
    with pytest.raises(SecretError, match="cannot be decrypted: the file was altered or moved"):
        backend.get("b")
    record = json.loads((folder / "a.secret").read_text())
    record["ciphertext"] = record["ciphertext"][:-4] + "AAA="
    (folder / "a.secret").write_text(json.dumps(record))
    with pytest.raises(SecretError, match="altered or moved"):
        backend.get("a")


def test_a_passphrase_is_stretched_with_scrypt(tmp_path: Path) -> None:
    backend = _backend(tmp_path, "local", SHIPWAY_MASTER_KEY="correct horse battery staple")
    backend.set("a", SecretStr(CANARY))
    meta = json.loads((tmp_path / ".shipway" / "secrets" / "vault.json").read_text())
    assert meta["kdf"]["name"] == "scrypt" and len(meta["kdf"]["salt"]) > 16
    again = _backend(tmp_path, "local", SHIPWAY_MASTER_KEY="correct horse battery staple")
    assert again.get("a").get_secret_value() == CANARY
    with pytest.raises(SecretError, match="wrong master key"):
        _backend(tmp_path, "local", SHIPWAY_MASTER_KEY="wrong horse").get("a")


def test_rotation_re_encrypts_every_secret_of_every_environment(tmp_path: Path) -> None:
    old, new = new_master_key(), new_master_key()
    root = tmp_path / ".shipway" / "secrets"
    for environment in ("dev", "prod"):
        backend = open_backend(
            "local",
            project="notes",
            environment=environment,
            base_dir=tmp_path,
            home=tmp_path / ".shipway",
            env={"SHIPWAY_MASTER_KEY": old},
        )
        backend.set("a", SecretStr(f"{CANARY}-{environment}"))
    before = {p: p.read_bytes() for p in root.rglob("*.secret")}
    vault = LocalVault(root, {"SHIPWAY_MASTER_KEY": old})
    with pytest.raises(SecretError, match="set SHIPWAY_NEW_MASTER_KEY"):
        vault.rotate(None)
    assert vault.rotate(new) == 2
    after = {p: p.read_bytes() for p in root.rglob("*.secret")}
    assert after.keys() == before.keys()
    assert all(after[p] != before[p] for p in before)
    with pytest.raises(SecretError, match="wrong master key"):
        _backend(tmp_path, "local", SHIPWAY_MASTER_KEY=old).get("a")
    assert _backend(tmp_path, "local", SHIPWAY_MASTER_KEY=new).get("a").get_secret_value() == (
        f"{CANARY}-dev"
    )
    assert _mode(root) == 0o700 and all(_mode(p) == 0o600 for p in root.rglob("*.secret"))
    assert not root.with_name("secrets.rotating").exists()
    assert not root.with_name("secrets.retired").exists()


def test_an_interrupted_rotation_is_completed_on_open(tmp_path: Path) -> None:
    key = new_master_key()
    _backend(tmp_path, "local", SHIPWAY_MASTER_KEY=key).set("a", SecretStr(CANARY))
    root = tmp_path / ".shipway" / "secrets"
    # The state between the two renames: the new vault staged, the old one moved away.
    root.rename(root.with_name("secrets.rotating"))
    assert _backend(tmp_path, "local", SHIPWAY_MASTER_KEY=key).get("a").get_secret_value() == (
        CANARY
    )


def test_the_key_can_live_in_the_os_keyring(tmp_path: Path) -> None:
    """A real keyring backend (keyrings.alt's file keyring) in a child process."""
    pytest.importorskip("keyrings.alt")
    script = f"""
import sys
from pathlib import Path
from pydantic import SecretStr
from shipway.config.secrets import open_backend
from shipway.config.secrets.local import LocalVault
base = Path({str(tmp_path)!r})
b = open_backend("local", project="notes", environment="dev", base_dir=base,
                 home=base / ".shipway", env={{}})
if sys.argv[1] == "set":
    b.set("a", SecretStr({CANARY!r}))
elif sys.argv[1] == "rotate":
    print(b.vault.rotate(None))
print(b.get("a").get_secret_value() == {CANARY!r})
"""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("SHIPWAY_")},
        "PYTHON_KEYRING_BACKEND": "keyrings.alt.file.PlaintextKeyring",
        "XDG_DATA_HOME": str(tmp_path / "xdg"),
    }
    for step, expected in (("set", "True"), ("get", "True"), ("rotate", "1\nTrue")):
        done = subprocess.run(
            [sys.executable, "-c", script, step],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == expected
    meta = json.loads((tmp_path / ".shipway" / "secrets" / "vault.json").read_text())
    assert meta["kdf"] == {"name": "keyring"}
    keyring_file = next((tmp_path / "xdg").rglob("keyring_pass.cfg"))
    # Exactly one key entry is left after the rotation: the new vault id's (keyrings.alt
    # escapes '-' and ':' in entry names).
    assert keyring_file.read_text().count("master_2dkey_3a") == 1
    assert meta["vault_id"] in keyring_file.read_text()


def test_env_backend_reads_variables_and_is_read_only(tmp_path: Path) -> None:
    backend = _backend(tmp_path, "env", DB_PASSWORD=CANARY, GITHUB_TOKEN="t")
    assert backend.get("db_password").get_secret_value() == CANARY
    assert backend.get("github.token").get_secret_value() == "t"
    with pytest.raises(SecretNotFoundError, match="environment variable NOPE is not set"):
        backend.get("nope")
    with pytest.raises(SecretError, match="read-only"):
        backend.set("x", SecretStr("y"))
    prefixed = open_backend(
        "env",
        project="p",
        environment="dev",
        base_dir=tmp_path,
        home=tmp_path,
        settings={"prefix": "APP_"},
        env={"APP_DB_PASSWORD": "x", "OTHER": "y"},
    )
    assert prefixed.names() == ["db_password"]
    assert backend.missing(["db_password", "nope"]) == ["nope"]


def test_file_backend(tmp_path: Path) -> None:
    backend = _backend(tmp_path, "file")
    folder = tmp_path / "secrets" / "dev"
    folder.mkdir(parents=True)
    (folder / "mounted").write_text(CANARY + "\n")
    assert backend.get("mounted").get_secret_value() == CANARY
    backend.set("written", SecretStr("w"))
    assert _mode(folder / "written") == 0o600
    assert backend.names() == ["mounted", "written"]
    backend.delete("written")
    with pytest.raises(SecretNotFoundError):
        backend.get("written")
    with pytest.raises(InputError, match="invalid secret name"):
        backend.get("../escape")


def test_unknown_backend(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"unknown secret backend 'nope' \(known: aws, env"):
        _backend(tmp_path, "nope")


def _exercise(backend: SecretBackend) -> None:
    """The same contract for every writable backend."""
    with pytest.raises(SecretNotFoundError):
        backend.get("db_password")
    backend.set("db_password", SecretStr(CANARY))
    backend.set("db_password", SecretStr(CANARY + "-2"))  # replace
    backend.set("nested/name", SecretStr("n"))
    assert backend.get("db_password").get_secret_value() == CANARY + "-2"
    assert backend.names() == ["db_password", "nested/name"]
    assert backend.missing(["db_password", "absent"]) == ["absent"]
    backend.delete("nested/name")
    assert backend.names() == ["db_password"]
    with pytest.raises(SecretNotFoundError):
        backend.delete("nested/name")


def test_aws_backend_against_moto(tmp_path: Path, moto_url: str, aws_env: dict[str, str]) -> None:
    backend = open_backend(
        "aws",
        project="notes",
        environment="dev",
        base_dir=tmp_path,
        home=tmp_path,
        settings={"endpoint_url": moto_url, "recovery_days": 0},
        env=aws_env,
    )
    _exercise(backend)
    # The secret id carries project and environment; another environment sees nothing.
    assert backend.client.describe_secret(SecretId="shipway/notes/dev/db_password")["Name"]
    other = open_backend(
        "aws",
        project="notes",
        environment="prod",
        base_dir=tmp_path,
        home=tmp_path,
        settings={"endpoint_url": moto_url},
        env=aws_env,
    )
    assert other.names() == []


def test_aws_backend_unreachable(tmp_path: Path, aws_env: dict[str, str]) -> None:
    backend = open_backend(
        "aws",
        project="notes",
        environment="dev",
        base_dir=tmp_path,
        home=tmp_path,
        settings={"endpoint_url": "http://127.0.0.1:9"},
        env=aws_env,
    )
    backend.client.meta.config.retries = {"max_attempts": 1}
    with pytest.raises(SecretError, match="AWS Secrets Manager unreachable"):
        backend.get("x")


def test_vault_backend_against_a_dev_server(tmp_path: Path, vault_server: tuple[str, str]) -> None:
    address, token = vault_server
    backend = open_backend(
        "vault",
        project="notes",
        environment="dev",
        base_dir=tmp_path,
        home=tmp_path,
        settings={"address": address},
        env={"VAULT_TOKEN": token},
    )
    _exercise(backend)
    denied = open_backend(
        "vault",
        project="notes",
        environment="dev",
        base_dir=tmp_path,
        home=tmp_path,
        settings={"address": address},
        env={"VAULT_TOKEN": "wrong"},
    )
    with pytest.raises(SecretError, match="Vault denied access"):
        denied.get("db_password")
