"""The lint rules, their codes, and the order they run in.

Each rule group is isolated: if one crashes on a shape of tree nobody foresaw,
the others still run and the crash becomes a LINT_CRASH issue instead of an
exception in the caller.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from pynescript.ast import node as pn

from .call_rules import check_calls
from .layout_rules import (
    check_block_indentation,
    check_line_wrapping,
    check_tabs,
    check_version,
)
from .report import LintIssue
from .scope_rules import check_scopes

logger = logging.getLogger(__name__)

#: Every rule code the validator can emit, with what it means.
RULES: dict[str, str] = {
    "SYNTAX_ERROR": "the parser rejected the script",
    "WRONG_VERSION": "no //@version=6 before the code, or another version",
    "MISSING_DECLARATION": "no strategy(), indicator() or library() call",
    "MULTIPLE_DECLARATIONS": "more than one declaration call",
    "MISSING_TITLE": "the declaration call has no title",
    "STRATEGY_ARG_IMPLICIT": "strategy() relies on defaults that changed (warning)",
    "LEGACY_NAME": "a v4/v5 name or argument: study(), bare rsi(), transp=, ...",
    "WHEN_ARGUMENT": "a when= argument, removed in v6",
    "UNDEFINED_NAME": "an identifier or type that is not declared or built in",
    "UNKNOWN_FUNCTION": "a call to a function that is neither built in nor declared",
    "LOOKAHEAD_WITHOUT_OFFSET": "lookahead_on without a [1] offset, so it repaints",
    "TA_CALL_NOT_GLOBAL": "a ta.*() call in a block, ternary, and/or or function",
    "PLOT_NOT_GLOBAL": "a plot-type call outside the global scope",
    "TOO_MANY_PLOTS": "more than 64 plot-type calls",
    "NA_BOOL": "a bool set to or tested for na, which v6 forbids",
    "NA_COMPARISON": "a comparison with na, which is never true",
    "INT_AS_BOOL": "a number used where v6 needs a bool",
    "BAD_INDENT": "indentation other than 4 spaces per block level",
    "LINE_CONTINUATION": "a statement wrapped over several lines (warning)",
    "EXIT_WITHOUT_ENTRY": "strategy.exit() without id/from_entry or a known entry",
    "EXIT_WITHOUT_LEVELS": "strategy.exit() with no stop, limit or trailing level",
    "LINT_CRASH": "a rule failed on this script; a validator bug",
}


def check_source(lines: list[str]) -> list[LintIssue]:
    """Rules that read only the text, so they run even when parsing fails."""
    return _run_all(
        [
            lambda: check_version(lines),
            lambda: check_tabs(lines),
            lambda: check_line_wrapping(lines),
        ]
    )


def check_tree(script: pn.Script, lines: list[str]) -> list[LintIssue]:
    """Rules that need the parsed tree."""
    return _run_all(
        [
            lambda: check_block_indentation(script, lines),
            lambda: check_calls(script),
            lambda: check_scopes(script),
        ]
    )


def _run_all(rules: list[Callable[[], list[LintIssue]]]) -> list[LintIssue]:
    issues: list[LintIssue] = []
    for rule in rules:
        try:
            issues.extend(rule())
        except Exception as exc:
            logger.exception("lint rule crashed")
            message = f"a lint rule failed ({type(exc).__name__}); please report it"
            issues.append(LintIssue("LINT_CRASH", message, None))
    return issues
