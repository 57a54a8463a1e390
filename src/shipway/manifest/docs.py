"""`python -m shipway.manifest.docs > docs/manifest.md`: regenerate the manifest reference.

The renderer lives in `markdown.py` so that importing the package does not import this
entry point (running a module that is already imported makes `runpy` warn).
"""

from __future__ import annotations

import sys

from shipway.manifest.markdown import REGENERATE, render_manifest_docs

__all__ = ["REGENERATE", "render_manifest_docs"]

if __name__ == "__main__":
    sys.stdout.write(render_manifest_docs())
