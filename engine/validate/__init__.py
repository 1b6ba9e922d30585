"""Parse and lint a Pine Script v6 program.

``validate_script`` never raises for bad input: every problem, a syntax error
included, comes back as a coded ``LintIssue`` in the report. Call
``warm_parser`` once when a worker starts so the first script is not slow.
"""

from __future__ import annotations

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
