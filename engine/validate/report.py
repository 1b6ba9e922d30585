"""The result of validating one Pine Script: a list of coded issues."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

ERROR = "error"
WARNING = "warning"


@dataclass(frozen=True)
class LintIssue:
    """One finding: a rule code, a message for people, and where it is."""

    rule: str
    message: str
    line: int | None = None
    severity: str = ERROR

    def to_dict(self) -> dict[str, Any]:
        """The issue as a JSON-ready mapping."""
        return {
            "rule": self.rule,
            "message": self.message,
            "line": self.line,
            "severity": self.severity,
        }

    def __str__(self) -> str:
        where = "-" if self.line is None else str(self.line)
        return f"{where} {self.rule} {self.message}"


@dataclass
class ValidationReport:
    """All issues found in a script, ordered by line."""

    issues: list[LintIssue] = field(default_factory=list)

    @property
    def errors(self) -> list[LintIssue]:
        """Issues that make the script unusable."""
        return [issue for issue in self.issues if issue.severity == ERROR]

    @property
    def warnings(self) -> list[LintIssue]:
        """Issues worth fixing that do not block the script."""
        return [issue for issue in self.issues if issue.severity == WARNING]

    @property
    def ok(self) -> bool:
        """True when no issue is an error; warnings do not count."""
        return not self.errors

    @property
    def rules(self) -> set[str]:
        """The distinct rule codes found, handy for assertions and metrics."""
        return {issue.rule for issue in self.issues}

    def to_dict(self) -> dict[str, Any]:
        """The report as a JSON-ready mapping."""
        return {
            "ok": self.ok,
            "error_count": len(self.errors),
            "warning_count": len(self.warnings),
            "issues": [issue.to_dict() for issue in self.issues],
        }

    def __str__(self) -> str:
        return "\n".join(str(issue) for issue in self.issues)
