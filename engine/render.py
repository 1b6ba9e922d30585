"""Render a validated strategy spec into a Pine Script v6 strategy.

`render_strategy` is the only way Pine leaves PineForge. The spec is first
turned into a plan of names (`engine.render_plan`), then the Jinja templates
in `pinescript_templates/` print it. User text (the name, the description,
alert messages) reaches the script only through `pine_string` or, for the
header comment, `pine_comment`; numbers only through `pine_number`.

The output is deterministic: the same spec renders to the same bytes.
"""

from __future__ import annotations

import math
import textwrap
import unicodedata
from decimal import Decimal
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from engine.render_plan import build_plan
from engine.spec import StrategySpec

TEMPLATE_DIR = Path(__file__).resolve().parent.parent / "pinescript_templates"

# Bidirectional overrides and isolates can make a line display differently
# from what it is; in a script a user pastes into TradingView, blank them.
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _is_unsafe(ch: str) -> bool:
    # Cc: ASCII/C1 controls incl. newlines and tabs; Zl/Zp: Unicode line and
    # paragraph separators, which some editors treat as line breaks; Cs:
    # lone surrogates, which cannot be encoded at all.
    return unicodedata.category(ch) in ("Cc", "Zl", "Zp", "Cs") or ch in _BIDI_CONTROLS


def _clean(text: str) -> str:
    return "".join(" " if _is_unsafe(ch) else ch for ch in text)


def pine_string(text: str) -> str:
    """Return `text` as a Pine double-quoted string literal.

    Backslashes and double quotes are escaped; newlines, tabs and other
    control characters become spaces, so nothing can end the literal or the
    line. Other Unicode is kept as is.
    """
    if not isinstance(text, str):
        raise TypeError(f"pine_string expects str, got {type(text).__name__}")
    escaped = _clean(text).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def pine_comment(text: str) -> str:
    """Return `text` made safe for the body of a `//` comment: one line."""
    return " ".join(_clean(text).split())


def pine_number(value: int | float) -> str:
    """Return a Pine numeric literal: ints as ints, floats with a point, no exponent.

    `2` -> `2`, `2.0` -> `2.0`, `0.1` -> `0.1`, `1e-07` -> `0.0000001`.
    """
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"pine_number expects a number, got {type(value).__name__}")
    if isinstance(value, int):
        return str(value)
    if not math.isfinite(value):
        raise ValueError(f"Pine has no literal for {value!r}")
    # repr is the shortest text that round-trips; Decimal spells out exponents.
    text = repr(value)
    if "e" in text or "E" in text:
        text = format(Decimal(text), "f")
    if "." not in text:
        text += ".0"
    return "0.0" if text == "-0.0" else text


def pine_bool(value: bool) -> str:
    """Return `true` or `false`."""
    if not isinstance(value, bool):
        raise TypeError(f"pine_bool expects bool, got {type(value).__name__}")
    return "true" if value else "false"


def _comment_lines(text: str, width: int = 86) -> list[str]:
    return textwrap.wrap(pine_comment(text), width) if text else []


def _build_environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATE_DIR),
        undefined=StrictUndefined,
        autoescape=False,  # Pine, not HTML; escaping is pine_string's job
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        pine_string=pine_string,
        pine_number=pine_number,
        pine_bool=pine_bool,
        pine_comment=pine_comment,
        comment_lines=_comment_lines,
    )
    return env


ENVIRONMENT = _build_environment()


def render_strategy(spec: StrategySpec) -> str:
    """Render `spec` as a complete Pine Script v6 strategy.

    Deterministic: the same spec always gives the same text. Raises only on a
    template bug (jinja2's errors), never on a spec that validated.
    """
    plan = build_plan(spec)
    template = ENVIRONMENT.get_template("strategy.pine.j2")
    return template.render(plan=plan, spec=spec, settings=spec.settings)
