"""Parse and lint a Pine Script v6 program.

``validate_script`` never raises for bad input: every problem, a syntax error
included, comes back as a coded ``LintIssue`` in the report. Call
``warm_parser`` once when a worker starts so the first script is not slow.
``validate_script_cached`` remembers recent reports by the code's digest, for
the pipeline, where the same spec (hence the same script) comes back often.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict

from .parser import parse_script, warm_parser
from .report import ERROR, WARNING, LintIssue, ValidationReport
from .rules import RULES, check_source, check_tree

__all__ = [
    "ERROR",
    "RULES",
    "WARNING",
    "LintIssue",
    "ValidationReport",
    "validate_script",
    "validate_script_cached",
    "warm_parser",
]


def validate_script(code: str) -> ValidationReport:
    """Parse ``code`` and run every lint rule; issues come back sorted by line."""
    code = code.removeprefix("\ufeff")  # editors on Windows may add a BOM
    lines = code.splitlines()
    issues = check_source(lines)

    tree, syntax_error = parse_script(code)
    if syntax_error is not None:
        issues.append(syntax_error)
    else:
        issues.extend(check_tree(tree, lines))

    issues.sort(key=lambda issue: (issue.line or 0, issue.severity != "error"))
    return ValidationReport(issues)


#: Reports kept by ``validate_script_cached``; a report is a few hundred bytes.
REPORT_CACHE_SIZE = 512

_reports: OrderedDict[str, tuple[LintIssue, ...]] = OrderedDict()
_reports_lock = threading.Lock()


def validate_script_cached(code: str) -> ValidationReport:
    """``validate_script`` with a bounded, process-wide cache keyed by SHA-256.

    Validation is a pure function of the code, so a hit gives the same report
    as a fresh run; each caller gets its own report object.
    """
    digest = hashlib.sha256(code.encode("utf-8")).hexdigest()
    with _reports_lock:
        issues = _reports.get(digest)
        if issues is not None:
            _reports.move_to_end(digest)
            return ValidationReport(list(issues))

    # Parse outside the lock: two threads may validate the same new script
    # at once, and both get the same answer.
    report = validate_script(code)
    with _reports_lock:
        _reports[digest] = tuple(report.issues)
        _reports.move_to_end(digest)
        while len(_reports) > REPORT_CACHE_SIZE:
            _reports.popitem(last=False)
    return report
