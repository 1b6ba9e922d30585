"""What a script declares, and the little typing that is statically knowable.

Kinds are only read off declarations (``int x = ...``), literals and a few
built-ins whose result type is fixed; there is no inference beyond that.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pynescript.ast import node as pn

from . import pine_v6_names as names
from .ast_utils import call_name, is_name

INT, FLOAT, BOOL, STRING, COLOR = "int", "float", "bool", "string", "color"
UNKNOWN = ""
NUMERIC = frozenset({INT, FLOAT})

_KIND_OF_CALL = {
    "input.int": INT,
    "input.float": FLOAT,
    "input.string": STRING,
    "input.color": COLOR,
    **{name: BOOL for name in names.BOOL_FUNCTIONS},
}


@dataclass
class Definitions:
    """Names declared at the top level of a script, whatever their position."""

    functions: set[str] = field(default_factory=set)
    methods: set[str] = field(default_factory=set)
    types: set[str] = field(default_factory=set)
    enums: set[str] = field(default_factory=set)
    libraries: set[str] = field(default_factory=set)

    @classmethod
    def collect(cls, script: pn.Script) -> Definitions:
        """Read function, method, type, enum and import names off the script."""
        found = cls()
        for statement in script.body:
            if isinstance(statement, pn.FunctionDef):
                target = found.methods if statement.method else found.functions
                target.add(statement.name)
            elif isinstance(statement, pn.TypeDef):
                found.types.add(statement.name)
            elif isinstance(statement, pn.EnumDef):
                found.enums.add(statement.name)
            elif isinstance(statement, pn.Import):
                found.libraries.add(statement.alias or statement.name)
        return found

    def is_user_namespace(self, name: str) -> bool:
        """Whether ``name.x`` refers to a user type, enum or imported library."""
        return name in self.types or name in self.enums or name in self.libraries


class Scope:
    """A block's variables and their kinds, chained to the enclosing block."""

    def __init__(self, parent: Scope | None = None) -> None:
        self.parent = parent
        self._kinds: dict[str, str] = {}

    def define(self, name: str, kind: str) -> None:
        """Declare ``name`` in this block."""
        self._kinds[name] = kind

    def kind_of(self, name: str) -> str | None:
        """The kind of a visible variable, "" if unknown, None if undeclared."""
        scope: Scope | None = self
        while scope is not None:
            if name in scope._kinds:
                return scope._kinds[name]
            scope = scope.parent
        return None


def declared_kind(type_node: pn.expr | None) -> str:
    """The kind named by a declaration's type, e.g. ``series int`` -> int."""
    if isinstance(type_node, pn.Qualify):
        type_node = type_node.value
    if isinstance(type_node, pn.Name) and type_node.id in (INT, FLOAT, BOOL, STRING):
        return type_node.id
    return UNKNOWN


def value_kind(value: pn.expr | None) -> str:
    """The kind of an expression when a literal or a fixed-type call shows it."""
    if isinstance(value, pn.Constant):
        return _constant_kind(value)
    if isinstance(value, pn.UnaryOp) and isinstance(value.op, (pn.USub, pn.UAdd)):
        inner = value_kind(value.operand)
        return inner if inner in NUMERIC else UNKNOWN
    if isinstance(value, (pn.Compare, pn.BoolOp)):
        return BOOL
    if isinstance(value, pn.UnaryOp) and isinstance(value.op, pn.Not):
        return BOOL
    if isinstance(value, pn.Call):
        return _KIND_OF_CALL.get(call_name(value) or "", UNKNOWN)
    return UNKNOWN


def _constant_kind(node: pn.Constant) -> str:
    # bool is a subclass of int in Python, so it has to be tested first.
    if isinstance(node.value, bool):
        return BOOL
    if isinstance(node.value, int):
        return INT
    if isinstance(node.value, float):
        return FLOAT
    if isinstance(node.value, str):
        return COLOR if node.kind == "#" else STRING
    return UNKNOWN


def may_be_na(value: pn.expr | None) -> bool:
    """Whether the value is ``na`` itself or a ternary with an ``na`` branch."""
    if is_name(value, "na"):
        return True
    if isinstance(value, pn.Conditional):
        return may_be_na(value.body) or may_be_na(value.orelse)
    return False
