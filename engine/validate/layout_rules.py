"""Rules about the source layout: the version line, indentation, line wrapping.

The parser accepts any consistent indentation and drops comments, so these
rules read the source lines, helped by statement positions from the tree.
"""

from __future__ import annotations

import re

from pynescript.ast import node as pn

from .ast_utils import BLOCK_NODES
from .report import WARNING, LintIssue

INDENT_WIDTH = 4
_VERSION = re.compile(r"//\s*@version\s*=\s*(\d+)\s*$")
_OPERATOR_AT_END = re.compile(r"(?:[-+*/%,(\[?:=<>]|!=|\band|\bor|\bnot)\s*$")


def check_version(lines: list[str]) -> list[LintIssue]:
    """WRONG_VERSION: ``//@version=6`` must come before any code.

    Comment lines (a licence header, say) may precede it, as in TradingView's
    own new-script template.
    """
    for number, line in enumerate(lines, 1):
        text = line.strip()
        if not text:
            continue
        match = _VERSION.match(text)
        if match:
            if match.group(1) == "6":
                return []
            message = f"the script declares //@version={match.group(1)}; it must be 6"
            return [LintIssue("WRONG_VERSION", message, number)]
        if not text.startswith("//"):
            message = "`//@version=6` must come before the first line of code"
            return [LintIssue("WRONG_VERSION", message, number)]
    return [LintIssue("WRONG_VERSION", "the script has no `//@version=6` line", None)]


def check_tabs(lines: list[str]) -> list[LintIssue]:
    """BAD_INDENT for tab characters in the indentation of code lines."""
    issues = []
    for number, line in enumerate(lines, 1):
        code = code_of(line)
        indent = code[: len(code) - len(code.lstrip())]
        if code.strip() and "\t" in indent:
            message = "indentation uses a tab; indent with 4 spaces per level"
            issues.append(LintIssue("BAD_INDENT", message, number))
    return issues


def check_block_indentation(script: pn.Script, lines: list[str]) -> list[LintIssue]:
    """BAD_INDENT for a statement not indented by exactly 4 spaces per level."""
    checker = _IndentChecker(lines)
    checker.statements(script.body, 0)
    return checker.issues


def check_line_wrapping(lines: list[str]) -> list[LintIssue]:
    """LINE_CONTINUATION (warning) once for each statement wrapped over lines."""
    issues = []
    previous_line = 0
    previous_continues = in_wrap = False
    for number, line in enumerate(lines, 1):
        code = code_of(line).rstrip()
        if not code.strip():
            continue
        indent = code[: len(code) - len(code.lstrip())]
        odd_indent = "\t" not in indent and len(indent) % INDENT_WIDTH != 0
        wrapped = previous_continues or odd_indent
        if wrapped and not in_wrap and previous_line:
            message = (
                f"the statement continues on line {number}; keep one expression "
                "per line"
            )
            issues.append(
                LintIssue("LINE_CONTINUATION", message, previous_line, WARNING)
            )
        in_wrap = wrapped
        previous_line = number
        previous_continues = not code.endswith("=>") and bool(
            _OPERATOR_AT_END.search(code)
        )
    return issues


def code_of(line: str) -> str:
    """The line with string contents and any trailing ``//`` comment removed."""
    kept: list[str] = []
    quote = None
    i = 0
    while i < len(line):
        char = line[i]
        if quote is not None:
            if char == "\\":
                i += 2
                continue
            if char == quote:
                quote = None
                kept.append(char)
        elif char in "\"'":
            quote = char
            kept.append(char)
        elif line.startswith("//", i):
            break
        else:
            kept.append(char)
        i += 1
    return "".join(kept)


class _IndentChecker:
    def __init__(self, lines: list[str]) -> None:
        self.lines = lines
        self.issues: list[LintIssue] = []

    def _line(self, node: pn.AST) -> str:
        number = getattr(node, "lineno", None) or 0
        return self.lines[number - 1] if 0 < number <= len(self.lines) else ""

    def starts_line(self, node: pn.AST) -> bool:
        return not self._line(node)[: node.col_offset].strip()

    def check(self, node: pn.AST, depth: int) -> None:
        if getattr(node, "lineno", None) is None or not self.starts_line(node):
            return
        indent = self._line(node)[: node.col_offset]
        if "\t" in indent:
            return  # check_tabs reports it
        expected = depth * INDENT_WIDTH
        if node.col_offset != expected:
            message = f"expected {expected} spaces of indentation, found {len(indent)}"
            self.issues.append(LintIssue("BAD_INDENT", message, node.lineno))

    def statements(self, statements: list[pn.stmt], depth: int) -> None:
        for statement in statements:
            self.check(statement, depth)
            if isinstance(statement, (pn.FunctionDef, pn.TypeDef, pn.EnumDef)):
                self.statements(statement.body, depth + 1)
            elif isinstance(getattr(statement, "value", None), BLOCK_NODES):
                self.structure(statement.value, depth)

    def structure(self, node: pn.expr, depth: int) -> None:
        if isinstance(node, pn.Switch):
            for case in node.cases:
                self.check(case, depth + 1)
                self.statements(case.body, depth + 2)
            return

        self.statements(node.body, depth + 1)
        orelse = getattr(node, "orelse", None) or []
        # The parser places an `else if` at its `else`; it continues the chain
        # at the same depth rather than opening a block.
        chained = (
            len(orelse) == 1
            and isinstance(getattr(orelse[0], "value", None), pn.If)
            and self._line(orelse[0]).lstrip().startswith("else")
        )
        if chained:
            self.structure(orelse[0].value, depth)
        else:
            self.statements(orelse, depth + 1)
