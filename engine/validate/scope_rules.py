"""Rules that need to know what is declared where, checked in one ordered walk.

Pine has no hoisting: a variable is visible from its declaration to the end of
its block, so walking statements in order with a chain of block scopes gives
the same answer as the compiler. Functions, types, enums and imports are read
up front because they can only be declared at the top level.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from pynescript.ast import node as pn

from . import pine_v6_names as names
from .ast_utils import chain_base, dotted_chain, is_name, line_of
from .call_scope import check_call
from .report import LintIssue
from .scope import (
    BOOL,
    INT,
    UNKNOWN,
    Definitions,
    Scope,
    declared_kind,
    may_be_na,
    value_kind,
)
from .value_checks import check_condition, check_type

# Reported once per name: repeating "x is undefined" on every use is noise.
_ONCE_PER_NAME = {"UNDEFINED_NAME", "UNKNOWN_FUNCTION", "LEGACY_NAME"}


def check_scopes(script: pn.Script) -> list[LintIssue]:
    """UNDEFINED_NAME, UNKNOWN_FUNCTION, LEGACY_NAME (bare v4 names),
    TA_CALL_NOT_GLOBAL, PLOT_NOT_GLOBAL, NA_BOOL, NA_COMPARISON, INT_AS_BOOL."""
    walker = _ScopeWalker(script)
    for statement in script.body:
        walker.statement(statement)
    return walker.issues


class _ScopeWalker:
    def __init__(self, script: pn.Script) -> None:
        self.defs = Definitions.collect(script)
        self.scope = Scope()
        self.issues: list[LintIssue] = []
        # Enclosing constructs, innermost last: (is a local block, description).
        self._context: list[tuple[bool, str]] = []
        self._reported: set[tuple[str, str]] = set()

    def report(self, rule: str, message: str, node: pn.AST, key: str = "") -> None:
        if rule in _ONCE_PER_NAME:
            if (rule, key) in self._reported:
                return
            self._reported.add((rule, key))
        self.issues.append(LintIssue(rule, message, line_of(node)))

    @contextmanager
    def within(self, is_local: bool, description: str) -> Iterator[None]:
        self._context.append((is_local, description))
        try:
            yield
        finally:
            self._context.pop()

    # Statements -------------------------------------------------------------

    def statement(self, node: pn.stmt) -> None:
        handler = getattr(self, f"_stmt_{type(node).__name__}", None)
        if handler is not None:
            handler(node)

    def _stmt_Expr(self, node: pn.Expr) -> None:
        self.expr(node.value)

    def _stmt_Assign(self, node: pn.Assign) -> None:
        self.expr(node.value)
        check_type(self, node.type)
        kind = declared_kind(node.type) or value_kind(node.value)
        if kind == BOOL and node.type is not None and may_be_na(node.value):
            self._na_bool(node, node.target)
        self.bind(node.target, kind)

    def _stmt_ReAssign(self, node: pn.ReAssign) -> None:
        self.expr(node.value)
        if self._assigned_kind(node.target) == BOOL and may_be_na(node.value):
            self._na_bool(node, node.target)

    def _stmt_AugAssign(self, node: pn.AugAssign) -> None:
        self.expr(node.value)
        self._assigned_kind(node.target)

    def _stmt_FunctionDef(self, node: pn.FunctionDef) -> None:
        for param in node.args:
            check_type(self, param.type)
            self.expr(param.default)
            if declared_kind(param.type) == BOOL and may_be_na(param.default):
                self._na_bool(param, param)
        self.scope = Scope(self.scope)
        for param in node.args:
            self.scope.define(param.name, declared_kind(param.type))
        with self.within(True, f"function `{node.name}`"):
            for statement in node.body:
                self.statement(statement)
        self.scope = self.scope.parent

    def _stmt_TypeDef(self, node: pn.TypeDef) -> None:
        for field in node.body:
            check_type(self, field.type)
            self.expr(field.value)
            if declared_kind(field.type) == BOOL and may_be_na(field.value):
                self._na_bool(field, field.target)

    def _stmt_EnumDef(self, node: pn.EnumDef) -> None:
        for field in node.body:
            self.expr(field.value)

    def bind(self, target: pn.expr, kind: str) -> None:
        if isinstance(target, pn.Name):
            self.scope.define(target.id, kind)
        elif isinstance(target, pn.Tuple):
            for element in target.elts:
                self.bind(element, UNKNOWN)

    def _assigned_kind(self, target: pn.expr) -> str | None:
        if not isinstance(target, pn.Name):
            self.expr(target)
            return None
        kind = self.scope.kind_of(target.id)
        if kind is None:
            message = f"`{target.id}` is reassigned before it is declared"
            self.report("UNDEFINED_NAME", message, target, target.id)
        return kind

    def _na_bool(self, node: pn.AST, target: pn.AST) -> None:
        name = getattr(target, "id", None) or getattr(target, "name", "value")
        message = f"bool `{name}` cannot be `na` in Pine v6; use true or false"
        self.report("NA_BOOL", message, node)

    # Blocks -----------------------------------------------------------------

    def block(
        self,
        statements: list[pn.stmt],
        description: str,
        bindings: Iterable[tuple[pn.expr, str]] = (),
    ) -> None:
        self.scope = Scope(self.scope)
        for target, kind in bindings:
            self.bind(target, kind)
        with self.within(True, description):
            for statement in statements:
                self.statement(statement)
        self.scope = self.scope.parent

    def _expr_If(self, node: pn.If) -> None:
        check_condition(self, node.test)
        with self.within(True, "an `if` condition"):
            self.expr(node.test)
        self.block(node.body, "an `if` block")
        if node.orelse:
            self.block(node.orelse, "an `else` block")

    def _expr_ForTo(self, node: pn.ForTo) -> None:
        with self.within(True, "a `for` loop header"):
            for bound in (node.start, node.end, node.step):
                self.expr(bound)
        self.block(node.body, "a `for` loop", [(node.target, INT)])

    def _expr_ForIn(self, node: pn.ForIn) -> None:
        with self.within(True, "a `for` loop header"):
            self.expr(node.iter)
        target = node.target
        if isinstance(target, pn.Tuple) and len(target.elts) == 2:
            bindings = [(target.elts[0], INT), (target.elts[1], UNKNOWN)]
        else:
            bindings = [(target, UNKNOWN)]
        self.block(node.body, "a `for` loop", bindings)

    def _expr_While(self, node: pn.While) -> None:
        check_condition(self, node.test)
        with self.within(True, "a `while` condition"):
            self.expr(node.test)
        self.block(node.body, "a `while` loop")

    def _expr_Switch(self, node: pn.Switch) -> None:
        with self.within(True, "a `switch` header"):
            self.expr(node.subject)
        for case in node.cases:
            if case.pattern is not None:
                if node.subject is None:
                    check_condition(self, case.pattern)
                with self.within(True, "a `switch` case"):
                    self.expr(case.pattern)
            self.block(case.body, "a `switch` branch")

    # Expressions ------------------------------------------------------------

    def expr(self, node: pn.expr | None) -> None:
        if node is None:
            return
        handler = getattr(self, f"_expr_{type(node).__name__}", None)
        if handler is not None:
            handler(node)

    def _expr_Name(self, node: pn.Name) -> None:
        self.check_name(node)

    def _expr_Attribute(self, node: pn.Attribute) -> None:
        root, dotted = dotted_chain(node)
        if root is None:
            self.expr(chain_base(node))
            return
        if self._is_user_root(root.id):
            return  # Limitation: user-type fields and enum members go unchecked.
        if names.is_builtin_value(dotted) or names.builtin_value_prefix(dotted):
            return
        if dotted in names.FUNCTIONS:
            return  # v4's input(type=input.int) style; LEGACY_NAME covers it
        if root.id in names.NAMESPACES:
            message = f"`{dotted}` is not a Pine v6 built-in"
            self.report("UNDEFINED_NAME", message, node, dotted)
            return
        self.check_name(root)

    def _expr_BoolOp(self, node: pn.BoolOp) -> None:
        for value in node.values:
            check_condition(self, value)
        with self.within(False, "an `and`/`or` expression"):
            for value in node.values:
                self.expr(value)

    def _expr_UnaryOp(self, node: pn.UnaryOp) -> None:
        if isinstance(node.op, pn.Not):
            check_condition(self, node.operand)
        self.expr(node.operand)

    def _expr_BinOp(self, node: pn.BinOp) -> None:
        self.expr(node.left)
        self.expr(node.right)

    def _expr_Conditional(self, node: pn.Conditional) -> None:
        check_condition(self, node.test)
        with self.within(False, "a `?:` ternary"):
            for part in (node.test, node.body, node.orelse):
                self.expr(part)

    def _expr_Compare(self, node: pn.Compare) -> None:
        operands = [node.left, *node.comparators]
        if any(is_name(operand, "na") for operand in operands):
            message = "comparing with `na` is never true; test with `na(x)`"
            self.report("NA_COMPARISON", message, node)
        for operand in operands:
            self.expr(operand)

    def _expr_Subscript(self, node: pn.Subscript) -> None:
        self.expr(node.value)
        self.expr(node.slice)

    def _expr_Tuple(self, node: pn.Tuple) -> None:
        for element in node.elts:
            self.expr(element)

    def _expr_Qualify(self, node: pn.Qualify) -> None:
        check_type(self, node)

    def _expr_Specialize(self, node: pn.Specialize) -> None:
        check_type(self, node)

    def _expr_Call(self, node: pn.Call) -> None:
        check_call(self, node)

    # Names, types and conditions --------------------------------------------

    def _is_user_root(self, name: str) -> bool:
        return self.scope.kind_of(name) is not None or self.defs.is_user_namespace(name)

    def check_name(self, node: pn.Name) -> None:
        name = node.id
        if self._is_user_root(name) or name in names.TOP_LEVEL_VARIABLES:
            return
        if name in names.LEGACY_VARIABLES:
            message = f"`{name}` is a pre-v5 name; use `{names.LEGACY_VARIABLES[name]}`"
            self.report("LEGACY_NAME", message, node, name)
            return
        message = f"`{name}` is not declared before use"
        self.report("UNDEFINED_NAME", message, node, name)

    def innermost(self, local_only: bool = False) -> str | None:
        for is_local, description in reversed(self._context):
            if is_local or not local_only:
                return description
        return None
