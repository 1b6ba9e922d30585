"""How the scope walk treats one call: what it calls, and where it is called."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pynescript.ast import node as pn

from . import pine_v6_names as names
from .ast_utils import chain_base, dotted_chain
from .value_checks import check_na_of_bool, check_type

if TYPE_CHECKING:
    from .scope_rules import _ScopeWalker

# Built-in members every user-defined type has.
_TYPE_MEMBERS = {"new", "copy"}


def check_call(walker: _ScopeWalker, call: pn.Call) -> None:
    """Resolve the callee, check its placement, then walk the arguments."""
    func = call.func
    if isinstance(func, pn.Specialize):
        check_type(walker, func.args)
        func = func.value

    builtin = _resolve(walker, call, func)
    if builtin is not None:
        _check_placement(walker, call, builtin)
        if builtin in ("na", "nz"):
            check_na_of_bool(walker, call, builtin)

    for argument in call.args:
        walker.expr(argument.value)


def _resolve(walker: _ScopeWalker, call: pn.Call, func: pn.expr) -> str | None:
    """Report unknown or legacy callees; return the built-in's name if it is one."""
    if isinstance(func, pn.Name):
        return _resolve_bare(walker, call, func.id)
    if not isinstance(func, pn.Attribute):
        walker.expr(func)
        return None

    root, dotted = dotted_chain(func)
    if root is None:
        walker.expr(chain_base(func))
        _check_method(walker, call, func.attr)
        return None

    name = root.id
    if walker.scope.kind_of(name) is not None:
        _check_method(walker, call, func.attr)
    elif name in walker.defs.types or name in walker.defs.enums:
        if func.attr not in _TYPE_MEMBERS and func.attr not in walker.defs.methods:
            _unknown(walker, call, f"`{dotted}()` is not a member of type `{name}`")
    elif name in walker.defs.libraries:
        pass  # Limitation: imported libraries' exports are not known here.
    elif dotted in names.FUNCTIONS:
        return dotted
    elif names.builtin_value_prefix(dotted):
        _check_method(walker, call, func.attr)
    elif name in names.NAMESPACES or name in names.TOP_LEVEL_VARIABLES:
        _unknown(walker, call, f"`{dotted}()` is not a Pine v6 built-in function")
    else:
        walker.check_name(root)
    return None


def _resolve_bare(walker: _ScopeWalker, call: pn.Call, name: str) -> str | None:
    if name in walker.defs.functions:
        return None
    if name in names.LEGACY_FUNCTIONS and walker.scope.kind_of(name) is None:
        replacement = names.LEGACY_FUNCTIONS[name]
        if replacement.replace(".", "").isalnum():
            replacement += "()"
        message = f"`{name}()` is a pre-v5 name; use `{replacement}` instead"
        walker.report("LEGACY_NAME", message, call, name)
        return None
    if name in names.FUNCTIONS:
        return name
    message = f"`{name}()` is neither a Pine v6 built-in nor declared in the script"
    _unknown(walker, call, message, name)
    return None


def _check_method(walker: _ScopeWalker, call: pn.Call, method: str) -> None:
    # Limitation: the receiver's type is not tracked, so any built-in method
    # name passes on any value (`myLabel.push()` is not caught).
    if method in names.METHOD_NAMES or method in walker.defs.methods:
        return
    message = f"`.{method}()` is neither a built-in method nor declared in the script"
    _unknown(walker, call, message, f".{method}")


def _unknown(walker: _ScopeWalker, call: pn.Call, message: str, key: str = "") -> None:
    walker.report("UNKNOWN_FUNCTION", message, call, key or message)


def _check_placement(walker: _ScopeWalker, call: pn.Call, builtin: str) -> None:
    if builtin.startswith("ta."):
        where = walker.innermost()
        if where is not None:
            message = (
                f"`{builtin}()` is called inside {where}; v6 may skip it on some "
                "bars, so assign it on a global line and use the variable"
            )
            walker.report("TA_CALL_NOT_GLOBAL", message, call)
    if builtin in names.PLOT_FUNCTIONS:
        where = walker.innermost(local_only=True)
        if where is not None:
            message = f"`{builtin}()` must be called at global scope, not in {where}"
            walker.report("PLOT_NOT_GLOBAL", message, call)
