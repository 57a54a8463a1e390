"""IntegrationTester: API checks, OpenAPI contract tests, browser E2E, load tests and
service checks, run against a release as the pipeline's `test` gate or by `shipway test`.

`run_tests(spec, target)` runs the kinds of a `tests` section and returns a `RunReport`;
`build_target` makes the target from a manifest environment; `junit_xml` renders JUnit.
"""

from shipway.tester.engine import run_tests, run_tests_sync, selected_kinds
from shipway.tester.junit import junit_xml, write_junit
from shipway.tester.kinds.interface import Observer, TestKind, TestKindError, TestTarget
from shipway.tester.results import CaseResult, KindReport, RunReport
from shipway.tester.targets import build_target

__all__ = [
    "CaseResult",
    "KindReport",
    "Observer",
    "RunReport",
    "TestKind",
    "TestKindError",
    "TestTarget",
    "build_target",
    "junit_xml",
    "run_tests",
    "run_tests_sync",
    "selected_kinds",
    "write_junit",
]
