"""A PromQL subset with Prometheus 2.x semantics: `parser.py` turns an expression into the
tree of `ast.py` (errors name the column), `engine.py` evaluates it over a grid of
instants against any `SampleSource`, vectorised per series with numpy (imported only by
the engine, so parsing stays cheap to import).
"""

from shipway.monitor.promql.parser import parse

__all__ = ["parse"]
