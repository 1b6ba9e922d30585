"""Small read-only helpers over the pynescript AST shared by the rule modules."""

from __future__ import annotations

from collections.abc import Iterator

from pynescript.ast import node as pn
from pynescript.ast.helper import walk

BLOCK_NODES = (pn.If, pn.ForTo, pn.ForIn, pn.While, pn.Switch)


def dotted_chain(node: pn.expr) -> tuple[pn.Name | None, str]:
    """Split ``a.b.c`` into its root ``Name`` and the text ``"a.b.c"``.

    When the chain does not start at a plain name (``f().x``, ``a[1].x``) the
    root is ``None`` and the text holds only the attribute part.
    """
    parts: list[str] = []
    while isinstance(node, pn.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, pn.Name):
        parts.append(node.id)
        return node, ".".join(reversed(parts))
    return None, ".".join(reversed(parts))


def chain_base(node: pn.expr) -> pn.expr:
    """The innermost non-attribute expression of an attribute chain."""
    while isinstance(node, pn.Attribute):
        node = node.value
    return node


def call_target(call: pn.Call) -> pn.expr:
    """The called expression with any ``<type>`` specialisation removed."""
    func = call.func
    return func.value if isinstance(func, pn.Specialize) else func


def call_name(call: pn.Call) -> str | None:
    """``"ta.sma"`` for ``ta.sma(...)``; None when the callee is not a plain chain."""
    root, dotted = dotted_chain(call_target(call))
    return dotted if root is not None else None


def get_arg(call: pn.Call, name: str, position: int | None = None) -> pn.expr | None:
    """The argument passed as ``name=`` or, failing that, at ``position``."""
    positional = []
    for arg in call.args:
        if arg.name == name:
            return arg.value
        if arg.name is None:
            positional.append(arg.value)
    if position is not None and position < len(positional):
        return positional[position]
    return None


def iter_calls(tree: pn.AST) -> Iterator[pn.Call]:
    """Every call in the tree, in no particular order."""
    return (node for node in walk(tree) if isinstance(node, pn.Call))


def is_name(node: pn.AST | None, name: str) -> bool:
    """Whether ``node`` is the bare identifier ``name``."""
    return isinstance(node, pn.Name) and node.id == name


def line_of(node: pn.AST | None) -> int | None:
    """The 1-based line a node starts on, if the parser recorded one."""
    return getattr(node, "lineno", None)


def string_value(node: pn.AST | None) -> str | None:
    """The text of a string literal, or None for anything else."""
    is_text = isinstance(node, pn.Constant) and isinstance(node.value, str)
    return node.value if is_text and node.kind != "#" else None
