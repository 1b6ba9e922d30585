"""Checks on values in the scope walk: type names, conditions, na on bools."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pynescript.ast import node as pn

from . import pine_v6_names as names
from .ast_utils import dotted_chain
from .scope import BOOL, NUMERIC, value_kind

if TYPE_CHECKING:
    from .scope_rules import _ScopeWalker


def check_type(walker: _ScopeWalker, node: pn.expr | None) -> None:
    """UNDEFINED_NAME for a type that is neither built in nor declared."""
    if isinstance(node, pn.Tuple):
        for element in node.elts:
            check_type(walker, element)
    elif isinstance(node, (pn.Qualify, pn.Subscript)):
        check_type(walker, node.value)
    elif isinstance(node, pn.Specialize):
        check_type(walker, node.value)
        check_type(walker, node.args)
    elif isinstance(node, (pn.Name, pn.Attribute)):
        root, dotted = dotted_chain(node)
        known = dotted in names.TYPES or walker.defs.is_user_namespace(dotted)
        if not known and not (root and root.id in walker.defs.libraries):
            message = f"`{dotted}` is not a known type"
            walker.report("UNDEFINED_NAME", message, node, dotted)


def check_condition(walker: _ScopeWalker, node: pn.expr) -> None:
    """INT_AS_BOOL when a condition is statically known to be a number."""
    what = _numeric(walker, node)
    if what is not None:
        message = f"{what} is used as a condition; Pine v6 needs a bool"
        walker.report("INT_AS_BOOL", message, node)


def _numeric(walker: _ScopeWalker, node: pn.expr) -> str | None:
    if isinstance(node, pn.Subscript):
        node = node.value
    if isinstance(node, (pn.Constant, pn.UnaryOp)):
        return "a number" if value_kind(node) in NUMERIC else None
    root, dotted = dotted_chain(node)
    if root is None:
        return None
    kind = walker.scope.kind_of(root.id)
    if isinstance(node, pn.Name) and kind in NUMERIC:
        return f"`{dotted}` ({kind})"
    if kind is None and dotted in names.NUMERIC_VARIABLES:
        return f"`{dotted}` (a number)"
    return None


def check_na_of_bool(walker: _ScopeWalker, call: pn.Call, function: str) -> None:
    """NA_BOOL for ``na(x)`` or ``nz(x)`` on a variable known to be a bool."""
    argument = call.args[0].value if call.args else None
    if isinstance(argument, pn.Subscript):
        argument = argument.value
    if isinstance(argument, pn.Name) and walker.scope.kind_of(argument.id) == BOOL:
        message = f"`{function}({argument.id})`: a bool is never `na` in Pine v6"
        walker.report("NA_BOOL", message, call)
