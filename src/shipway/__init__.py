"""shipway: a deployment orchestrator.

One command takes a service from code on disk to running, verified and watched, and
takes it back when something is wrong.
"""

__version__ = "0.1.0"
