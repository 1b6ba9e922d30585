"""Render the Pine expression of a user-defined indicator from its template.

A template such as ``ta.ema(ta.rsi({{ source }}, {{ length }}), {{ smooth }})``
is user text, so it gets two locks: its Jinja syntax tree may hold nothing but
literal text and ``{{ param }}`` placeholders naming declared parameters, and
it is rendered in Jinja's sandbox with ``StrictUndefined``. Each placeholder
becomes the Pine input variable of that parameter, never a user value.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping

from jinja2 import StrictUndefined, TemplateSyntaxError, UndefinedError, nodes
from jinja2.sandbox import SandboxedEnvironment, SecurityError

_SANDBOX = SandboxedEnvironment(
    undefined=StrictUndefined,
    autoescape=False,  # Pine, not HTML
    keep_trailing_newline=False,
)

_NODE_WORDS = {
    nodes.Getattr: "attribute access",
    nodes.Getitem: "item access",
    nodes.Call: "a function call",
    nodes.Filter: "a filter",
    nodes.Test: "a test",
    nodes.Const: "a literal",
}


class TemplateProblem(ValueError):
    """Why an expression template cannot be used, in one sentence."""


@functools.lru_cache(maxsize=512)
def template_placeholders(template: str) -> frozenset[str]:
    """The parameter names a template refers to.

    Raises TemplateProblem when the template is not Jinja, uses a statement
    (``{% ... %}``) or puts anything but a bare name inside ``{{ }}``.
    """
    try:
        tree = _SANDBOX.parse(template)
    except TemplateSyntaxError as exc:
        raise TemplateProblem(
            f"the template is not valid Jinja: {exc.message}"
        ) from None

    names: set[str] = set()
    for statement in tree.body:
        if not isinstance(statement, nodes.Output):
            raise TemplateProblem("template statements ({% ... %}) are not allowed")
        for part in statement.nodes:
            if isinstance(part, nodes.TemplateData):
                continue
            if isinstance(part, nodes.Name):
                names.add(part.name)
                continue
            found = _NODE_WORDS.get(type(part), f"a {type(part).__name__} expression")
            raise TemplateProblem(
                f"only {{{{ param }}}} placeholders are allowed, not {found}"
            )
    return frozenset(names)


def render_expression(template: str, variables: Mapping[str, str]) -> str:
    """Render ``template`` with each parameter name replaced by its Pine variable.

    ``variables`` maps a parameter name to the identifier of its ``input.*``.
    Raises TemplateProblem for a template that is not allowed, refers to an
    unknown parameter, trips the sandbox or renders to more than one line.
    """
    unknown = sorted(template_placeholders(template) - set(variables))
    if unknown:
        known = ", ".join(sorted(variables)) or "none"
        raise TemplateProblem(
            f"unknown placeholder '{unknown[0]}' (parameters: {known})"
        )
    try:
        text = _SANDBOX.from_string(template).render(dict(variables))
    except SecurityError:
        raise TemplateProblem(
            "the template tried something the sandbox forbids"
        ) from None
    except UndefinedError as exc:
        raise TemplateProblem(f"the template refers to {exc.message}") from None

    if "\n" in text or "\r" in text:
        raise TemplateProblem("the expression must fit on one line")
    return text.strip()
