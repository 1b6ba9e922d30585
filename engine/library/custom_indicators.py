"""User-defined indicators: the definition a user sends, and its checks.

A definition names a kind (``my_rsi_smooth``), its parameters with bounds, its
outputs and a one-line Pine expression template. Before it is stored the
template must render (``engine.render_custom``), and a small strategy using
the indicator with its defaults must render, parse and lint clean; the
expression may call only ``ta.*``, ``math.*`` and a few pure built-ins, so a
user indicator can compute but never trade, alert, draw or request data.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)
from pynescript.ast import node as pn

from engine.catalog import (
    CATALOG,
    PRICE_SOURCES,
    IndicatorDef,
    OutputDef,
    ParamDef,
    extra_indicators,
)
from engine.errors import IndicatorTemplateInvalid
from engine.render import render_strategy
from engine.render_custom import (
    TemplateProblem,
    render_expression,
    template_placeholders,
)
from engine.spec import parse_spec
from engine.validate import validate_script
from engine.validate.ast_utils import call_name, iter_calls
from engine.validate.parser import parse_script

CUSTOM_FAMILY = "custom"
MAX_PARAMS = 8
MAX_OUTPUTS = 4
MAX_TEMPLATE_LENGTH = 500

#: What an expression may call: pure maths on series, nothing with effects.
ALLOWED_NAMESPACES = ("ta.", "math.")
ALLOWED_FUNCTIONS = frozenset({"nz", "na", "fixnan", "int", "float"})
#: Built-ins that return a tuple, and its size: several outputs need one of them.
TUPLE_FUNCTIONS = {
    "ta.macd": 3,
    "ta.bb": 3,
    "ta.kc": 3,
    "ta.dmi": 3,
    "ta.supertrend": 2,
}

Slug = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,23}$")]
Kind = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{2,31}$")]
Category = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{1,31}$")]
Template = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True,
        min_length=1,
        max_length=MAX_TEMPLATE_LENGTH,
        pattern=r"^[\x20-\x7e]+$",  # printable ASCII: one line, no controls
    ),
]
Bound = Annotated[float, Field(allow_inf_nan=False, ge=-1e9, le=1e9)]


class CustomParam(BaseModel):
    """One parameter; it becomes an ``input.*`` of the rendered strategy."""

    model_config = ConfigDict(extra="forbid")

    name: Slug
    type: Literal["int", "float", "source", "bool"]
    default: bool | int | float | str
    min: Bound | None = None
    max: Bound | None = None
    title: str | None = Field(None, min_length=1, max_length=60)

    @model_validator(mode="after")
    def _consistent(self) -> CustomParam:
        problem = _param_problem(self)
        if problem:
            raise ValueError(f"parameter '{self.name}' {problem}")
        return self

    def to_param_def(self) -> ParamDef:
        """The catalog form of this parameter."""
        title = self.title or self.name.replace("_", " ").capitalize()
        return ParamDef(self.name, self.type, self.default, title, self.min, self.max)


def _param_problem(param: CustomParam) -> str | None:
    value = param.default
    if param.type in ("source", "bool"):
        if param.min is not None or param.max is not None:
            return "takes no min or max"
        if param.type == "source" and value not in PRICE_SOURCES:
            return f"default must be one of {', '.join(PRICE_SOURCES)}"
        if param.type == "bool" and not isinstance(value, bool):
            return "default must be true or false"
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "default must be a number"
    if not math.isfinite(value) or abs(value) > 1e9:
        return "default must be a finite number"
    if param.type == "int":
        bounds = (value, param.min, param.max)
        if any(v is not None and not float(v).is_integer() for v in bounds):
            return "is an int: default, min and max must be whole numbers"
    if param.min is not None and param.max is not None and param.min > param.max:
        return "min must not exceed max"
    if param.min is not None and value < param.min:
        return "default is below min"
    if param.max is not None and value > param.max:
        return "default is above max"
    return None


class CustomIndicatorFields(BaseModel):
    """Everything about a user-defined indicator except its kind."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=80)
    category: Category = "custom"
    description: str = Field("", max_length=500)
    params: list[CustomParam] = Field(default_factory=list, max_length=MAX_PARAMS)
    outputs: list[Slug] = Field(
        default_factory=lambda: ["value"], min_length=1, max_length=MAX_OUTPUTS
    )
    overlay: bool = False
    template: Template

    @model_validator(mode="after")
    def _unique_names(self) -> CustomIndicatorFields:
        for what, names in (
            ("parameter", [p.name for p in self.params]),
            ("output", list(self.outputs)),
        ):
            repeated = sorted({n for n in names if names.count(n) > 1})
            if repeated:
                raise ValueError(f"{what} names must be unique: {', '.join(repeated)}")
        if not self.name.isprintable() or not self.name.strip():
            raise ValueError("the name must be printable text")
        return self


class CustomIndicatorDraft(CustomIndicatorFields):
    """A new user-defined indicator, as the API receives it."""

    kind: Kind

    @model_validator(mode="after")
    def _not_a_builtin(self) -> CustomIndicatorDraft:
        if is_builtin_kind(self.kind):
            raise ValueError(f"'{self.kind}' is a built-in indicator kind")
        return self


def is_builtin_kind(kind: str) -> bool:
    """Whether ``kind`` names a built-in indicator or one of its aliases."""
    return kind in CATALOG or any(kind in entry.aliases for entry in CATALOG.values())


def to_indicator_def(kind: str, fields: CustomIndicatorFields) -> IndicatorDef:
    """The catalog entry of a user-defined indicator (family ``custom``)."""
    return IndicatorDef(
        kind=kind,
        title=fields.name.strip(),
        category=fields.category,
        description=fields.description,
        pine_call=CUSTOM_FAMILY,
        family=CUSTOM_FAMILY,
        params=tuple(p.to_param_def() for p in fields.params),
        outputs=tuple(OutputDef(name, name) for name in fields.outputs),
        overlay=fields.overlay,
        template=fields.template,
    )


def check_custom_indicator(kind: str, fields: CustomIndicatorFields) -> str:
    """Prove a definition renders into a clean script; return that script.

    Raises IndicatorTemplateInvalid naming the problem: a template that is not
    allowed, does not parse, lints dirty or calls something other than pure
    built-ins. ``details.issues`` lists the validator's findings, if any.
    """
    entry = to_indicator_def(kind, fields)
    variables = {p.name: f"ind_{p.name}" for p in fields.params}
    try:
        expression = render_expression(fields.template, variables)
    except TemplateProblem as exc:
        raise _invalid(str(exc)) from None
    _check_expression(expression, len(fields.outputs))
    used = template_placeholders(fields.template)
    unused = [p.name for p in fields.params if p.name not in used]
    if unused:
        raise _invalid(f"parameter '{unused[0]}' is not used by the template")

    code = _render_probe(entry)
    report = validate_script(code)
    if report.issues:
        first = report.issues[0]
        raise _invalid(
            f"the Pine expression does not pass our checks: {first.message}",
            issues=[issue.to_dict() for issue in report.issues],
        )
    return code


def _check_expression(expression: str, outputs: int) -> None:
    tree, syntax_error = parse_script(f"x = {expression}\n")
    if syntax_error is not None:
        raise _invalid(f"the Pine expression does not parse: {syntax_error.message}")
    if len(tree.body) != 1 or not isinstance(tree.body[0], pn.Assign):
        raise _invalid("the template must be a single Pine expression")

    for call in iter_calls(tree):
        name = call_name(call)
        if name is None or not (
            name.startswith(ALLOWED_NAMESPACES) or name in ALLOWED_FUNCTIONS
        ):
            allowed = "ta.*, math.*, " + ", ".join(sorted(ALLOWED_FUNCTIONS))
            raise _invalid(
                f"the expression may call only {allowed}; it calls {name or 'a value'}"
            )

    # The parser does not know arities: several outputs must come from one
    # tuple-returning built-in of that size, and one output from anything else.
    value = tree.body[0].value
    returned = (
        TUPLE_FUNCTIONS.get(call_name(value) or "", 1)
        if isinstance(value, pn.Call)
        else 1
    )
    if returned != outputs:
        raise _invalid(
            f"the expression returns {returned} value(s) but {outputs} output(s) "
            "are declared"
        )


def _render_probe(entry: IndicatorDef) -> str:
    # The smallest strategy that uses the indicator with its defaults and
    # reads its first output, rendered exactly as a user's strategy would be.
    first = entry.outputs[0].name
    spec_data: dict[str, Any] = {
        "name": f"{entry.kind} check",
        "indicators": [{"id": "ind", "kind": entry.kind}],
        "long": {
            "entry": {
                "type": "compare",
                "op": ">",
                "left": {"type": "indicator", "id": "ind", "output": first},
                "right": {"type": "number", "value": 0},
            }
        },
    }
    with extra_indicators([entry]):
        try:
            spec = parse_spec(spec_data)
        except ValidationError as exc:
            problem = exc.errors(include_url=False, include_input=False)[0]["msg"]
            raise _invalid(f"a strategy cannot use it: {problem}") from None
        return render_strategy(spec)


def _invalid(problem: str, **details: Any) -> IndicatorTemplateInvalid:
    return IndicatorTemplateInvalid(
        message=f"The indicator's Pine template is not usable: {problem}.",
        details={"problem": problem, **details},
    )
