# ruff: noqa: E501 - the tables of formats and negatives read best one entry a line.
"""A labeled secrets corpus, generated: real-format credentials of many kinds planted in
code, configuration, notebooks, .env files, documentation and git history, beside hard
negatives (hashes, UUIDs, base64 images, public keys, lorem ipsum, placeholders,
references) that a careless detector reports.

The formats below are written from the vendors' documentation, independently of the
scanner's rules, so the corpus measures the rules rather than repeating them. Every
planted value is random; its label is the file, the line it starts on and, for history,
the commit that added it.
"""

from __future__ import annotations

import base64
import json
import random
import string
import subprocess
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ALNUM = string.ascii_letters + string.digits
UPPER_ALNUM = string.ascii_uppercase + string.digits
HEX = "0123456789abcdef"
URLSAFE = ALNUM + "-_"
B64 = ALNUM + "+/"
BECH32 = "QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _r(rng: random.Random, n: int, alphabet: str = ALNUM) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _jwt(rng: random.Random) -> str:
    header = _b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    claims = {
        "sub": str(rng.randrange(10**6)),
        "name": "svc",
        "iat": 1700000000 + rng.randrange(10**6),
    }
    return f"{header}.{_b64url(json.dumps(claims).encode())}.{_r(rng, 43, URLSAFE)}"


def _pem(rng: random.Random, label: str, lead: str) -> str:
    body = lead + _r(rng, 1560 - len(lead), B64)
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    return f"-----BEGIN {label}-----\n" + "\n".join(lines) + f"\n-----END {label}-----"


def _password(rng: random.Random, n: int = 16) -> str:
    # At least one of each class, as a password policy would require.
    chars = [
        rng.choice(string.ascii_lowercase),
        rng.choice(string.ascii_uppercase),
        rng.choice(string.digits),
        rng.choice("!#%*+-_.~"),
    ]
    chars += [rng.choice(ALNUM + "!#%*+-_.~") for _ in range(n - 4)]
    rng.shuffle(chars)
    return "".join(chars)


@dataclass(frozen=True)
class Kind:
    name: str
    make: Callable[[random.Random], str]
    #: How the value is named where it is assigned (env style; other styles derive from it).
    variable: str
    #: Whether the format identifies itself (so it may stand in prose, without a name).
    vendor: bool = True


# fmt: off
KINDS: tuple[Kind, ...] = (
    Kind("aws-access-key-id", lambda g: "AKIA" + _r(g, 16, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"), "AWS_ACCESS_KEY_ID"),
    Kind("aws-secret-access-key", lambda g: _r(g, 40, B64), "AWS_SECRET_ACCESS_KEY", vendor=False),
    Kind("github-pat", lambda g: "ghp_" + _r(g, 36), "GITHUB_TOKEN"),
    Kind("github-oauth-token", lambda g: "gho_" + _r(g, 36), "GH_OAUTH_TOKEN"),
    Kind("github-app-token", lambda g: "ghs_" + _r(g, 36), "GH_INSTALLATION_TOKEN"),
    Kind("github-fine-grained-pat", lambda g: "github_pat_11" + _r(g, 20, UPPER_ALNUM) + "_" + _r(g, 59), "GH_PAT"),
    Kind("gitlab-pat", lambda g: "glpat-" + _r(g, 20, URLSAFE), "GITLAB_TOKEN"),
    Kind("slack-bot-token", lambda g: f"xoxb-{_r(g, 12, string.digits)}-{_r(g, 13, string.digits)}-{_r(g, 24)}", "SLACK_BOT_TOKEN"),
    Kind("slack-user-token", lambda g: f"xoxp-{_r(g, 12, string.digits)}-{_r(g, 12, string.digits)}-{_r(g, 13, string.digits)}-{_r(g, 32, HEX)}", "SLACK_USER_TOKEN"),
    Kind("slack-webhook-url", lambda g: f"https://hooks.slack.com/services/T{_r(g, 10, UPPER_ALNUM)}/B{_r(g, 10, UPPER_ALNUM)}/{_r(g, 24)}", "SLACK_WEBHOOK"),
    Kind("stripe-secret-key", lambda g: "sk_live_" + _r(g, 99), "STRIPE_SECRET_KEY"),
    Kind("stripe-restricted-key", lambda g: "rk_live_" + _r(g, 24), "STRIPE_RESTRICTED_KEY"),
    Kind("google-api-key", lambda g: "AIza" + _r(g, 35, URLSAFE), "GOOGLE_MAPS_KEY"),
    Kind("google-oauth-client-secret", lambda g: "GOCSPX-" + _r(g, 28, URLSAFE), "GOOGLE_CLIENT_SECRET"),
    Kind("private-key", lambda g: _pem(g, "RSA PRIVATE KEY", "MIIEowIBAAKCAQEA"), "DEPLOY_KEY"),
    Kind("openssh-private-key", lambda g: _pem(g, "OPENSSH PRIVATE KEY", "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ"), "SSH_KEY"),
    Kind("twilio-api-key", lambda g: "SK" + _r(g, 32, HEX), "TWILIO_API_KEY"),
    Kind("sendgrid-api-key", lambda g: f"SG.{_r(g, 22, URLSAFE)}.{_r(g, 43, URLSAFE)}", "SENDGRID_API_KEY"),
    Kind("mailgun-api-key", lambda g: "key-" + _r(g, 32, HEX), "MAILGUN_API_KEY"),
    Kind("mailchimp-api-key", lambda g: _r(g, 32, HEX) + f"-us{g.randint(1, 21)}", "MAILCHIMP_API_KEY"),
    Kind("npm-access-token", lambda g: "npm_" + _r(g, 36), "NPM_TOKEN"),
    Kind("pypi-upload-token", lambda g: "pypi-AgEIcHlwaS5vcmc" + _r(g, 140, URLSAFE), "PYPI_TOKEN"),
    Kind("shopify-token", lambda g: "shpat_" + _r(g, 32, HEX), "SHOPIFY_TOKEN"),
    Kind("azure-storage-account-key", lambda g: _r(g, 86, B64) + "==", "AZURE_STORAGE_KEY", vendor=False),
    Kind("jwt", _jwt, "SESSION_JWT"),
    Kind("digitalocean-token", lambda g: "dop_v1_" + _r(g, 64, HEX), "DIGITALOCEAN_TOKEN"),
    Kind("square-access-token", lambda g: "sq0atp-" + _r(g, 22, URLSAFE), "SQUARE_TOKEN"),
    Kind("telegram-bot-token", lambda g: f"{g.randint(10**8, 10**10 - 1)}:AA{_r(g, 33, URLSAFE)}", "TELEGRAM_BOT_TOKEN"),
    Kind("discord-webhook-url", lambda g: f"https://discord.com/api/webhooks/{g.randint(10**17, 10**18)}/{_r(g, 68, URLSAFE)}", "DISCORD_WEBHOOK"),
    Kind("databricks-token", lambda g: "dapi" + _r(g, 32, HEX), "DATABRICKS_TOKEN"),
    Kind("openai-api-key", lambda g: "sk-proj-" + _r(g, 58, URLSAFE) + "T3BlbkFJ" + _r(g, 58, URLSAFE), "OPENAI_API_KEY"),
    Kind("anthropic-api-key", lambda g: "sk-ant-api03-" + _r(g, 93, URLSAFE) + "AA", "ANTHROPIC_API_KEY"),
    Kind("huggingface-token", lambda g: "hf_" + _r(g, 34, string.ascii_letters), "HF_TOKEN"),
    Kind("vault-token", lambda g: "hvs." + _r(g, 95, URLSAFE), "VAULT_TOKEN"),
    Kind("postman-api-key", lambda g: f"PMAK-{_r(g, 24, HEX)}-{_r(g, 34, HEX)}", "POSTMAN_API_KEY"),
    Kind("newrelic-user-api-key", lambda g: "NRAK-" + _r(g, 27, UPPER_ALNUM), "NEW_RELIC_API_KEY"),
    Kind("grafana-service-account-token", lambda g: f"glsa_{_r(g, 32)}_{_r(g, 8, HEX)}", "GRAFANA_TOKEN"),
    Kind("age-secret-key", lambda g: "AGE-SECRET-KEY-1" + _r(g, 58, BECH32), "SOPS_AGE_KEY"),
    Kind("linear-api-key", lambda g: "lin_api_" + _r(g, 40), "LINEAR_API_KEY"),
    Kind("database-url-password", lambda g: _password(g, 18), "DATABASE_PASSWORD_IN_URL", vendor=False),
    Kind("password", lambda g: _password(g, g.randint(12, 20)), "DB_PASSWORD", vendor=False),
    Kind("generic-api-token", lambda g: _r(g, 40, HEX), "INTERNAL_API_TOKEN", vendor=False),
    Kind("django-secret-key", lambda g: _r(g, 50, string.ascii_lowercase + string.digits + "!@#%^&*(-_=+)"), "DJANGO_SECRET_KEY", vendor=False),
)
# fmt: on


@dataclass(frozen=True)
class Planted:
    kind: str
    value: str
    path: str
    line: int
    commit: str | None = None


@dataclass
class Corpus:
    root: Path
    planted: list[Planted] = field(default_factory=list)
    negatives: int = 0
    bytes: int = 0

    @property
    def kinds(self) -> set[str]:
        return {p.kind for p in self.planted}


def _snake(name: str) -> str:
    return name.lower()


def _camel(name: str) -> str:
    head, *rest = name.lower().split("_")
    return head + "".join(part.capitalize() for part in rest)


def _assignment(kind: Kind, value: str, style: str) -> str:
    """One line assigning `value` the way `style` files do."""
    if kind.name == "database-url-password":
        url = f"postgresql://app_user:{value}@db.prod.internal:5432/app"
        return {
            "py": f'DATABASE_URL = "{url}"',
            "js": f"const databaseUrl = '{url}';",
            "go": f'\tdsn := "{url}"',
            "yaml": f"  database_url: {url}",
            "json": f'  "databaseUrl": "{url}",',
            "toml": f'database_url = "{url}"',
            "ini": f"database_url = {url}",
            "env": f"DATABASE_URL={url}",
            "ipynb": f'engine = create_engine("{url}")',
            "md": f"Connect with `psql {url}` from the bastion.",
        }[style]
    if kind.name == "azure-storage-account-key":
        conn = (
            "DefaultEndpointsProtocol=https;AccountName=notesprod;"
            f"AccountKey={value};EndpointSuffix=core.windows.net"
        )
        return {
            "py": f'AZURE_STORAGE_CONNECTION_STRING = "{conn}"',
            "js": f"const storage = '{conn}';",
            "go": f'\tconn := "{conn}"',
            "yaml": f'  storage_connection: "{conn}"',
            "json": f'  "storageConnection": "{conn}",',
            "toml": f'storage_connection = "{conn}"',
            "ini": f"storage_connection = {conn}",
            "env": f"AZURE_STORAGE_CONNECTION_STRING={conn}",
            "ipynb": f'blob = BlobServiceClient.from_connection_string("{conn}")',
            "md": f"The connection string is `{conn}`.",
        }[style]
    var = kind.variable
    return {
        "py": f'{var} = "{value}"',
        "js": f"const {_camel(var)} = '{value}';",
        "go": f'\t{_camel(var)} := "{value}"',
        "yaml": f"  {_snake(var)}: {value}",
        "json": f'  "{_camel(var)}": "{value}",',
        "toml": f'{_snake(var)} = "{value}"',
        "ini": f"{_snake(var)} = {value}",
        "env": f"{var}={value}",
        "ipynb": f'{_snake(var)} = "{value}"',
        "md": f"Until the rotation the staging bot uses {value} as its credential.",
    }[style]


# Hard negatives: lines that hold something high-entropy or secret-sounding but no secret.
# fmt: off
NEGATIVES: tuple[Callable[[random.Random], str], ...] = (
    lambda g: f'checksum = "{_r(g, 64, HEX)}"',
    lambda g: f'SHA1_OF_RELEASE = "{_r(g, 40, HEX)}"',
    lambda g: f"    md5sum: {_r(g, 32, HEX)}",
    lambda g: f'  "integrity": "sha512-{base64.b64encode(g.randbytes(64)).decode()}",',
    lambda g: f"requests==2.32.3 --hash=sha256:{_r(g, 64, HEX)}",
    lambda g: f"commit {_r(g, 40, HEX)} (tag: v1.{g.randint(0, 40)}.0)",
    lambda g: f"image: registry.internal/notes@sha256:{_r(g, 64, HEX)}",
    lambda g: f'request_id = "{uuid.UUID(int=g.getrandbits(128), version=4)}"',
    lambda g: f'  "id": "{uuid.UUID(int=g.getrandbits(128), version=4)}",',
    lambda g: f"trace_id={_r(g, 32, HEX)} span_id={_r(g, 16, HEX)} status=ok",
    lambda g: f'<img src="data:image/png;base64,{base64.b64encode(PNG_MAGIC + g.randbytes(90)).decode()}">',
    lambda g: f'      "image/png": "iVBORw0KGgo{base64.b64encode(g.randbytes(120)).decode()}",',
    lambda g: f'font_data = "{base64.b64encode(g.randbytes(60)).decode()}"',
    lambda g: "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor "
              "incididunt ut labore et dolore magna aliqua, token passwords secret.",
    lambda g: "Ut enim ad minim veniam, quis nostrud exercitation ullamco laboris nisi ut aliquip "
              "ex ea commodo consequat.",
    lambda g: 'api_key = "your-api-key-here"',
    lambda g: "AWS_SECRET_ACCESS_KEY=<your-secret-access-key>",
    lambda g: "aws_access_key_id = AKIAIOSFODNN7EXAMPLE",
    lambda g: "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    lambda g: "GITHUB_TOKEN=ghp_" + "x" * 36,
    lambda g: "  password: changeme",
    lambda g: 'password = os.environ["DB_PASSWORD"]',
    lambda g: "    password=settings.DATABASE_PASSWORD,",
    lambda g: "token = request.headers.get('X-Api-Token')",
    lambda g: 'SECRET_KEY = env("DJANGO_SECRET_KEY")',
    lambda g: "  secret: ${secret:github_token}",
    lambda g: "        token: ${{ secrets.GITHUB_TOKEN }}",
    lambda g: '  client_secret: "{{ vault_client_secret }}"',
    lambda g: "export STRIPE_SECRET_KEY=$STRIPE_SECRET_KEY",
    lambda g: 'password_hash = "$2b$12$' + _r(g, 53, ALNUM + "./") + '"',
    lambda g: f"max_tokens = {g.randint(64, 4096)}",
    lambda g: 'tokenizer = AutoTokenizer.from_pretrained("bert-base-uncased")',
    lambda g: 'token_type = "Bearer"',
    lambda g: f'password_min_length = {g.randint(8, 16)}',
    lambda g: '  "forgot_password": "Forgot your password?",',
    lambda g: '  "password": "Password",',
    lambda g: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI" + _r(g, 43, B64) + " deploy@ci",
    lambda g: "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ" + _r(g, 300, B64) + " ops@bastion",
    lambda g: "-----BEGIN PUBLIC KEY----- " + _r(g, 64, B64) + " -----END PUBLIC KEY-----",
    lambda g: "-----BEGIN CERTIFICATE-----" + _r(g, 64, B64),
    lambda g: "DATABASE_URL=postgresql://localhost:5432/notes",
    lambda g: 'REDIS_URL = "redis://:${REDIS_PASSWORD}@cache.internal:6379/0"',
    lambda g: "  url: https://user@example.com/path?ref=" + _r(g, 12, HEX),
    lambda g: f"color: #{_r(g, 6, HEX)}; background: #{_r(g, 6, HEX)};",
    lambda g: f"version = \"{g.randint(0, 9)}.{g.randint(0, 99)}.{g.randint(0, 99)}\"",
    lambda g: "primary_key = \"id\"",
    lambda g: f'cache_key = "notes:{g.randint(1, 999)}:summary"',
    lambda g: "public_key = \"" + base64.b64encode(g.randbytes(32)).decode() + "\"",
    lambda g: '    "stripePublishableKey": "pk_live_' + _r(g, 24) + '",',
    lambda g: "if token == expected_token:",
    lambda g: "def rotate_secret(secret_id: str, *, dry_run: bool = False) -> None:",
    lambda g: f"session_timeout = {g.randint(60, 3600)}",
    lambda g: "csrf_token = '{{ csrf_token() }}'",
    lambda g: "secret = None",
    lambda g: "  password: \"\"",
    lambda g: "AUTH_BACKEND = \"django.contrib.auth.backends.ModelBackend\"",
    lambda g: "author = \"Ada Lovelace <ada@example.org>\"",
    lambda g: f"github.com/stretchr/testify v1.{g.randint(1, 9)}.0 h1:{base64.b64encode(g.randbytes(32)).decode()}",
    lambda g: f"sha256 = \"{_r(g, 64, HEX)}\"  # of the vendored tarball",
    lambda g: "STRIPE_SECRET_KEY=sk_live_" + "0" * 24,
    lambda g: "PASSWORD_RESET_TEMPLATE = \"emails/password_reset.html\"",
)
# fmt: on

_WORDS = [
    "note",
    "deploy",
    "service",
    "release",
    "health",
    "metric",
    "handler",
    "request",
    "response",
    "cache",
    "store",
    "user",
    "config",
    "layer",
    "stage",
    "event",
    "cursor",
    "lease",
    "worker",
    "agent",
    "proxy",
    "route",
    "build",
    "render",
    "fetch",
    "parse",
    "queue",
    "batch",
    "limit",
    "window",
    "retry",
    "backoff",
    "schedule",
    "archive",
    "export",
    "import",
    "index",
    "search",
]


def _filler(rng: random.Random, style: str, lines: int) -> list[str]:
    """Ordinary content for a file of `style`: no secrets, some secret-sounding words."""
    out = []
    for _ in range(lines):
        a, b, c = rng.sample(_WORDS, 3)
        out.append(
            {
                "py": f"def {a}_{b}({c}: str) -> str:\n    return {c}.strip() + {a!r}",
                "js": f"function {a}{b.capitalize()}({c}) {{ return {c}.{a}('{b}'); }}",
                "go": f'\t{a}{b.capitalize()} := {c}.Get("{a}")',
                "yaml": f"  {a}_{b}: {c}",
                "json": f'  "{a}_{b}": "{c}",',
                "toml": f'{a}_{b} = "{c}"',
                "ini": f"{a}_{b} = {c}",
                "env": f"{a.upper()}_{b.upper()}={c}",
                "ipynb": f"{a}_{b} = load_{c}()",
                "md": f"The {a} {b} keeps the {c} small; see the {a} guide for the token flow.",
            }[style]
        )
    return out


@dataclass
class _File:
    path: str
    style: str
    lines: list[str] = field(default_factory=list)
    secrets: list[tuple[Kind, str]] = field(default_factory=list)


_CONTEXTS = (
    ("src/notes/settings.py", "py"),
    ("src/notes/clients.py", "py"),
    ("web/static/app.js", "js"),
    ("services/worker/main.go", "go"),
    ("config/production.yaml", "yaml"),
    ("config/app.json", "json"),
    ("config/settings.toml", "toml"),
    ("deploy/app.ini", "ini"),
    (".env", "env"),
    ("deploy/.env.production", "env"),
    ("notebooks/analysis.ipynb", "ipynb"),
    ("docs/runbook.md", "md"),
)


def build_corpus(
    root: Path,
    seed: int = 7,
    *,
    copies: int = 2,
    negatives_per_template: int = 4,
    filler_lines: int = 30,
    git: bool = True,
) -> Corpus:
    """Write the corpus under `root`: every kind planted `copies` times in different
    contexts, every negative template `negatives_per_template` times, and (with `git`)
    secrets that only the history holds."""
    rng = random.Random(seed)
    files = [_File(path, style) for path, style in _CONTEXTS]
    corpus = Corpus(root)
    slot = 0
    for _copy in range(copies):
        for kind in KINDS:
            for _try in range(len(files)):
                target = files[slot % len(files)]
                slot += 1
                multiline = kind.name in ("private-key", "openssh-private-key")
                if target.style == "md" and not kind.vendor:
                    continue
                if multiline and target.style not in ("py", "json", "env", "md"):
                    continue
                break
            target.secrets.append((kind, kind.make(rng)))
    for template in NEGATIVES:
        for _n in range(negatives_per_template):
            rng.choice(files).lines.append(template(rng))
            corpus.negatives += 1
    for file in files:
        _write(root, file, rng, filler_lines, corpus)
    _key_files(root, rng, corpus)
    if git:
        _history(root, rng, corpus)
    corpus.bytes = sum(
        p.stat().st_size for p in root.rglob("*") if p.is_file() and ".git" not in p.parts
    )
    return corpus


def _secret_line(kind: Kind, value: str, style: str) -> str:
    if kind.name in ("private-key", "openssh-private-key"):
        escaped = value.replace("\n", "\\n")
        return {
            "py": f'{kind.variable} = """{value}"""',
            "json": f'  "private_key": "{escaped}",',
            "env": f'{kind.variable}="{escaped}"',
            "md": f"```\n{value}\n```",
        }[style]
    return _assignment(kind, value, style)


def _write(root: Path, file: _File, rng: random.Random, filler: int, corpus: Corpus) -> None:
    body = _filler(rng, file.style, filler)
    entries = [("filler", line) for line in body]
    entries += [("negative", line) for line in file.lines]
    entries += [("secret", (kind, value)) for kind, value in file.secrets]
    rng.shuffle(entries)
    lines = []
    for what, item in entries:
        if what == "secret":
            kind, value = item  # type: ignore[misc]
            lines.append(_secret_line(kind, value, file.style))
        else:
            lines.append(item)  # type: ignore[arg-type]
    if file.style == "ipynb":
        text = _notebook(lines, rng)
    elif file.style == "json":
        text = "{\n" + "\n".join(lines) + '\n  "end": true\n}\n'
    elif file.style == "go":
        text = "package main\n\nfunc main() {\n" + "\n".join(lines) + "\n}\n"
    elif file.style == "yaml":
        text = "app:\n" + "\n".join(lines) + "\n"
    else:
        text = "\n".join(lines) + "\n"
    path = root / file.path
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    for kind, value in file.secrets:
        corpus.planted.append(Planted(kind.name, value, file.path, _line_of(text, value)))


def _notebook(lines: list[str], rng: random.Random) -> str:
    cells = []
    for start in range(0, len(lines), 5):
        source = [line + "\n" for line in lines[start : start + 5]]
        cells.append({"cell_type": "code", "execution_count": len(cells) + 1, "metadata": {},
                      "outputs": [{"output_type": "display_data", "metadata": {},
                                   "data": {"image/png": base64.b64encode(rng.randbytes(300)).decode(),
                                            "text/plain": ["<Figure size 640x480>"]}}],
                      "source": source})  # fmt: skip
    notebook = {"cells": cells, "metadata": {"kernelspec": {"name": "python3"}}, "nbformat": 4,
                "nbformat_minor": 5}  # fmt: skip
    return json.dumps(notebook, indent=1) + "\n"


def _line_of(text: str, value: str) -> int:
    """The line `value` starts on; a PEM block starts at its BEGIN line, found from the
    (unique) first line of its body, whether newlines are real or escaped."""
    if value.startswith("-----BEGIN"):
        body = value.split("\n")[1]
        offset = text.rfind("-----BEGIN", 0, text.index(body))
    else:
        offset = text.index(value)
    return text.count("\n", 0, offset) + 1


def _key_files(root: Path, rng: random.Random, corpus: Corpus) -> None:
    """A bare private key file, and a cloud service-account file with its key inside."""
    kind = next(k for k in KINDS if k.name == "private-key")
    key = kind.make(rng)
    (root / "keys").mkdir(exist_ok=True)
    (root / "keys" / "deploy_key").write_text(key + "\n")
    corpus.planted.append(Planted(kind.name, key, "keys/deploy_key", 1))
    second = kind.make(rng)
    account = {
        "type": "service_account",
        "project_id": "notes-prod",
        "private_key_id": _r(rng, 40, HEX),
        "private_key": second + "\n",
        "client_email": "deployer@notes-prod.iam.gserviceaccount.com",
        "client_id": str(rng.randint(10**20, 10**21)),
    }
    text = json.dumps(account, indent=2) + "\n"
    (root / "keys" / "service-account.json").write_text(text)
    corpus.planted.append(
        Planted(kind.name, second, "keys/service-account.json", _line_of(text, second))
    )
    public = (
        "-----BEGIN CERTIFICATE-----\n"
        + "\n".join(_r(rng, 64, B64) for _ in range(12))
        + "\n-----END CERTIFICATE-----\n"
    )
    (root / "keys" / "server.crt").write_text(public)
    corpus.negatives += 1


def git(root: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(root), *args],
        capture_output=True,
        text=True,
        check=True,
        env={"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org",
             "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.org",
             "HOME": str(root), "GIT_CONFIG_NOSYSTEM": "1", "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    return done.stdout.strip()


def _history(root: Path, rng: random.Random, corpus: Corpus) -> None:
    """Commit 1 adds a file with secrets (and negatives) and a secret line to a tracked
    file; commit 2 deletes the file and replaces the line. Only history holds them."""
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "initial")
    old = root / "legacy" / "old_settings.py"
    old.parent.mkdir()
    kinds = [k for k in KINDS if k.name not in ("private-key", "openssh-private-key")]
    chosen = rng.sample(kinds, 6)
    lines = ['"""Settings from before the vault."""']
    values = []
    for kind in chosen:
        value = kind.make(rng)
        values.append((kind, value))
        lines.append(_assignment(kind, value, "py"))
        lines.append(NEGATIVES[rng.randrange(len(NEGATIVES))](rng))
        corpus.negatives += 1
    old.write_text("\n".join(lines) + "\n")
    readme = root / "docs" / "runbook.md"
    leaked_kind = next(k for k in KINDS if k.name == "slack-webhook-url")
    leaked = leaked_kind.make(rng)
    original = readme.read_text()
    readme.write_text(original + _assignment(leaked_kind, leaked, "md") + "\n")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "add legacy settings")
    commit = git(root, "rev-parse", "HEAD")
    text = old.read_text()
    for kind, value in values:
        corpus.planted.append(Planted(kind.name, value, "legacy/old_settings.py",
                                      _line_of(text, value), commit))  # fmt: skip
    corpus.planted.append(Planted(leaked_kind.name, leaked, "docs/runbook.md",
                                  _line_of(readme.read_text(), leaked), commit))  # fmt: skip
    old.unlink()
    readme.write_text(original + "The webhook now comes from the vault.\n")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "move secrets to the vault")
