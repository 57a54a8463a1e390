"""Secret rules: credential formats that announce themselves (a vendor prefix, a fixed
shape), found by literal anchors first and a regex around each anchor second.

Every rule names the group `secret` (the credential itself); `reveal` is how many leading
characters are format, not secret (`ghp_`), and may be shown in a redacted value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from shipway.scanner.findings import Severity

C, H, M = Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM


@dataclass(frozen=True)
class SecretRule:
    kind: str
    title: str
    severity: Severity
    #: Literal strings one of which every match contains (searched case-sensitively, or
    #: in the lowercased text when `ignore_case`). Rules share short anchors (`gh` for
    #: every GitHub token) because each distinct anchor costs one pass over the text,
    #: while a false hit only costs a regex on one line.
    anchors: tuple[str, ...]
    pattern: re.Pattern[str]
    reveal: int = 0
    ignore_case: bool = False
    #: How far around an anchor a match may reach; private keys span many lines.
    reach: int = 400
    multiline: bool = False

    @property
    def id(self) -> str:
        return f"secret.{self.kind}"


def _rule(
    kind: str,
    title: str,
    severity: Severity,
    anchors: tuple[str, ...] | str,
    pattern: str,
    reveal: int = 0,
    *,
    ignore_case: bool = False,
    reach: int = 400,
    multiline: bool = False,
    bounded: bool = True,
) -> SecretRule:
    flags = re.IGNORECASE if ignore_case else 0
    if "(?P<secret>" not in pattern:
        pattern = f"(?P<secret>{pattern})"
    # Tokens start and end where the alphabet they are written in ends (`=` may precede
    # one, as in `TOKEN=...`, and may end one, as base64 padding).
    if bounded:
        pattern = rf"(?<![A-Za-z0-9_/+-]){pattern}(?![A-Za-z0-9_/+=-])"
    anchor_tuple = (anchors,) if isinstance(anchors, str) else anchors
    return SecretRule(
        kind,
        title,
        severity,
        anchor_tuple,
        re.compile(pattern, flags),
        reveal,
        ignore_case,
        reach,
        multiline,
    )


_B64 = "A-Za-z0-9+/"
_URL64 = "A-Za-z0-9_-"

# fmt: off
RULES: tuple[SecretRule, ...] = (
    _rule("aws-access-key-id", "AWS access key ID", H,
          ("IA", "CCA"), r"(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}", 4),
    _rule("aws-secret-access-key", "AWS secret access key", C,
          ("secret_access_key", "secretaccesskey", "aws_secret"),
          rf"""(?:aws_?secret_?(?:access_?)?key|secret_?access_?key)\\?["']?\s*(?:=|:)\s*"""
          rf"""\\?["']?(?P<secret>[{_B64}]{{40}})(?![{_B64}=])""",
          ignore_case=True, bounded=False),
    _rule("github-pat", "GitHub personal access token", C, "gh", r"ghp_[A-Za-z0-9]{36}", 4),
    _rule("github-oauth-token", "GitHub OAuth access token", C, "gh", r"gho_[A-Za-z0-9]{36}", 4),
    _rule("github-app-token", "GitHub App token", C, "gh",
          r"gh[us]_[A-Za-z0-9]{36}", 4),
    _rule("github-refresh-token", "GitHub refresh token", C, "gh",
          r"ghr_[A-Za-z0-9]{36,76}", 4),
    _rule("github-fine-grained-pat", "GitHub fine-grained personal access token", C,
          "_pat_", r"github_pat_[A-Za-z0-9_]{82}", 11),
    _rule("gitlab-pat", "GitLab personal access token", C, "gl",
          r"glpat-[A-Za-z0-9_-]{20}", 6),
    _rule("gitlab-pipeline-trigger-token", "GitLab pipeline trigger token", H, "gl",
          r"glptt-[0-9a-f]{40}", 6),
    _rule("slack-bot-token", "Slack bot token", C, "xox",
          r"xoxb-[0-9]{10,13}-[0-9]{10,13}-[A-Za-z0-9]{24}", 5),
    _rule("slack-user-token", "Slack user token", C, "xox",
          r"xox[pe](?:-[0-9]{10,13}){3}-[A-Za-z0-9]{28,34}", 5),
    _rule("slack-app-token", "Slack app-level token", H, "xapp-",
          r"xapp-[0-9]-[A-Z0-9]{9,12}-[0-9]{10,14}-[a-f0-9]{64}", 5),
    _rule("slack-webhook-url", "Slack incoming webhook URL", H, "hooks.slack.com/",
          r"https://hooks\.slack\.com/services/T[A-Z0-9]{8,12}/B[A-Z0-9]{8,12}/[A-Za-z0-9]{24}",
          28),
    _rule("stripe-secret-key", "Stripe live secret key", C, "_live_",
          r"sk_live_[A-Za-z0-9]{24,99}", 8),
    _rule("stripe-restricted-key", "Stripe live restricted key", H, "_live_",
          r"rk_live_[A-Za-z0-9]{24,99}", 8),
    _rule("google-api-key", "Google API key", H, "AIza", r"AIza[A-Za-z0-9_-]{35}", 4),
    _rule("google-oauth-client-secret", "Google OAuth client secret", H, "GOCSPX-",
          r"GOCSPX-[A-Za-z0-9_-]{28}", 7),
    _rule("private-key", "Private key", C, "PRIVATE KEY-----",
          # The body may be written with real newlines or with `\n` escapes (JSON);
          # a body with `...` in it is an elided example, not a key.
          r"-----BEGIN (?:RSA |EC |DSA |OPENSSH |ENCRYPTED |PGP )?PRIVATE KEY(?: BLOCK)?-----"
          rf"(?:[\s{_B64}=:,-]|\\[rn]){{64,20000}}?"
          r"-----END (?:RSA |EC |DSA |OPENSSH |ENCRYPTED |PGP )?PRIVATE KEY(?: BLOCK)?-----",
          reach=20000, multiline=True, bounded=False),
    _rule("twilio-api-key", "Twilio API key", H, "SK", r"SK[0-9a-f]{32}", 2),
    _rule("sendgrid-api-key", "SendGrid API key", H, "SG.",
          r"SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}", 3),
    _rule("mailgun-api-key", "Mailgun API key", H, "key-", r"key-[0-9a-f]{32}", 4),
    _rule("mailchimp-api-key", "Mailchimp API key", H, "-us", r"[0-9a-f]{32}-us[0-9]{1,2}"),
    _rule("npm-access-token", "npm access token", C, "npm_", r"npm_[A-Za-z0-9]{36}", 4),
    _rule("pypi-upload-token", "PyPI upload token", C, "pypi-",
          r"pypi-AgEIcHlwaS5vcmc[A-Za-z0-9_-]{50,}", 5),
    _rule("shopify-token", "Shopify access token or shared secret", H,
          "shp", r"shp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}", 6),
    _rule("azure-storage-account-key", "Azure storage account key", C, "AccountKey=",
          rf"AccountKey=(?P<secret>[{_B64}]{{86}}==)"),
    _rule("jwt", "JSON Web Token", M, "eyJ",
          rf"eyJ[{_URL64}]{{10,}}\.eyJ[{_URL64}]{{10,}}\.[{_URL64}]{{20,}}", 3),
    _rule("digitalocean-token", "DigitalOcean token", C, "_v1_",
          r"do[opr]_v1_[a-f0-9]{64}", 7),
    _rule("square-access-token", "Square access token", C, "sq0",
          r"sq0atp-[A-Za-z0-9_-]{22}", 7),
    _rule("square-oauth-secret", "Square OAuth secret", C, "sq0",
          r"sq0csp-[A-Za-z0-9_-]{43}", 7),
    _rule("telegram-bot-token", "Telegram bot token", H, ":AA",
          r"[0-9]{8,10}:AA[A-Za-z0-9_-]{33}"),
    _rule("discord-webhook-url", "Discord webhook URL", H, "/api/webhooks/",
          r"https://(?:ptb\.|canary\.)?discord(?:app)?\.com/api/webhooks/[0-9]{17,20}/"
          r"[A-Za-z0-9_-]{60,68}", 33),
    _rule("atlassian-api-token", "Atlassian API token", H, "ATATT3",
          r"ATATT3[A-Za-z0-9_=-]{180,200}", 6),
    _rule("databricks-token", "Databricks access token", C, "dapi",
          r"dapi[a-f0-9]{32}(?:-[0-9])?", 4),
    _rule("openai-api-key", "OpenAI API key", C, "T3BlbkFJ",
          r"sk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,74}T3BlbkFJ[A-Za-z0-9_-]{20,74}", 3),
    _rule("anthropic-api-key", "Anthropic API key", C, "sk-ant-",
          r"sk-ant-(?:api03|admin01)-[A-Za-z0-9_-]{93}AA", 7),
    _rule("huggingface-token", "Hugging Face access token", H, "hf_", r"hf_[A-Za-z]{34}", 3),
    _rule("doppler-token", "Doppler service token", C, "dp.st.",
          r"dp\.st\.(?:[a-z0-9_-]{2,35}\.)?[A-Za-z0-9]{40,44}", 6),
    _rule("vault-token", "HashiCorp Vault token", C, "hv",
          r"hv[sb]\.[A-Za-z0-9_-]{90,120}", 4),
    _rule("terraform-cloud-token", "Terraform Cloud API token", C, ".atlasv1.",
          r"[A-Za-z0-9]{14}\.atlasv1\.[A-Za-z0-9_=-]{60,70}"),
    _rule("postman-api-key", "Postman API key", H, "AK-",
          r"PMAK-[a-f0-9]{24}-[a-f0-9]{34}", 5),
    _rule("newrelic-user-api-key", "New Relic user API key", H, "AK-",
          r"NRAK-[A-Z0-9]{27}", 5),
    _rule("grafana-service-account-token", "Grafana service account token", H, "gl",
          r"glsa_[A-Za-z0-9]{32}_[A-Fa-f0-9]{8}", 5),
    _rule("grafana-cloud-token", "Grafana Cloud API token", H, "gl",
          rf"glc_[{_B64}]{{32,400}}={{0,2}}", 4),
    _rule("age-secret-key", "age secret key", C, "AGE-SECRET-KEY-1",
          r"AGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58}", 16),
    _rule("linear-api-key", "Linear API key", H, "lin_api_", r"lin_api_[A-Za-z0-9]{40}", 8),
    _rule("dynatrace-token", "Dynatrace API token", H, "dt0c01.",
          r"dt0c01\.[A-Z0-9]{24}\.[A-Z0-9]{64}", 7),
    _rule("alibaba-access-key-id", "Alibaba Cloud AccessKey ID", H, "LTAI",
          r"LTAI[A-Za-z0-9]{12,20}", 4),
    _rule("planetscale-token", "PlanetScale service token", C, "pscale_",
          r"pscale_tkn_[A-Za-z0-9_.-]{43}", 11),
    _rule("pulumi-access-token", "Pulumi access token", C, "pul-", r"pul-[a-f0-9]{40}", 4),
    _rule("supabase-access-token", "Supabase personal access token", C, "sbp_",
          r"sbp_[a-f0-9]{40}", 4),
    _rule("sentry-auth-token", "Sentry auth token", H, "sntry",
          r"sntry(?:s_eyJ[A-Za-z0-9+/=_-]{60,400}|u_[a-f0-9]{64})", 7),
    _rule("flyio-token", "Fly.io access token", C, "fo1_", r"fo1_[A-Za-z0-9_-]{43}", 4),
)
# fmt: on


#: URLs with a password in them: `scheme://user:password@host`.
URL_CREDENTIALS = _rule(
    "url-credentials",
    "Password in a connection URL",
    H,
    "://",
    r"(?<![A-Za-z0-9+.-])[a-z][a-z0-9+.-]*://[^\s:/@'\"`<>{}$]+:"
    r"(?P<secret>[^\s@/'\"`<>{}]{3,128})@[A-Za-z0-9.-]+",
    bounded=False,
)
