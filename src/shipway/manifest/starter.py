"""The commented `shipway.yaml` that `shipway init` writes.

It must load cleanly (a test loads it) and show the shape of every section a new project
needs, without promising resources or integrations the user has not set up.
"""

from __future__ import annotations

import re

from shipway.errors import InputError
from shipway.manifest.fields import NAME_PATTERN

_TEMPLATE = """\
# shipway.yaml: how {project} is deployed. Reference: docs/manifest.md
# Check it with `shipway validate`; deploy with `shipway deploy -e dev`.
version: 1
project: {project}

environments:
  dev:
    target: local                # services run under the local agent on this machine
  # staging:
  #   extends: dev               # inherit everything, override what you name
  # prod:
  #   extends: staging
  #   approval: required         # the release waits for `shipway approve <id>`
  #   target: ssh
  #   hosts: [ssh://deploy@app1.example.com:22]

requirements:                    # checked before anything changes (stage: validate)
  software:
    - command: python3
      version: ">=3.10"
  network:
    - port_free: 8080

# resources:                     # created and tracked by shipway (stage: provision)
#   db:
#     type: postgres.database
#     server: ${{secret:pg_admin_url}}

config:                          # stage: configure
  layers:                        # later layers override earlier ones, key by key
    - config/base.yaml
    - config/${{environment}}.yaml
  secrets:
    backend: local               # encrypted vault under .shipway/secrets/

services:                        # stage: release
  web:
    run: python -m http.server ${{port}}   # ${{port}}: a private port chosen per release
    port: 8080                   # public port; the switching proxy listens here
    health:
      http: /
      interval: 1s
      timeout: 2s
    env:
      LOG_LEVEL: info

security:                        # stage: scan
  fail_on: high                  # findings at or above this severity block the release

tests:                           # run against each new release (stage: test)
  api:
    - name: home page
      request: GET /
      expect: {{status: 200, max_latency: 500ms}}

monitoring:                      # stage: observe, and always on
  logs:
    - service: web
  analysis:
    duration: 60s
    on_no_data: fail             # never silently pass
"""


def starter_manifest(project: str = "myapp") -> str:
    """The starter manifest for `project` (a lowercase name)."""
    if not re.fullmatch(NAME_PATTERN, project):
        raise InputError(
            f"invalid project name {project!r}: use lowercase letters, digits, '-' and '_', "
            "starting with a letter"
        )
    return _TEMPLATE.format(project=project)


STARTER_MANIFEST: str = starter_manifest()
