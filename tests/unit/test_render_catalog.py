"""Every catalog indicator renders into a clean script, on the chart and a higher TF."""

from __future__ import annotations

import pytest
from jinja2.runtime import Macro
from pynescript import ast as pn

from engine.catalog import CATALOG
from engine.render import ENVIRONMENT, render_strategy
from engine.spec import parse_spec
from tests.render_helpers import check_script


def spec_using(kind: str, timeframe: str | None = None):
    """A two-sided spec that reads every output of one `kind` in its conditions."""
    outputs = CATALOG[kind].output_names()

    def out(name: str, **extra: object) -> dict:
        return {"type": "indicator", "id": "ind", "output": name, **extra}

    level = {"type": "number", "value": 1.5}
    parts = [
        {"type": "cross", "direction": "above", "left": out(outputs[0]), "right": level}
    ]
    parts += [
        {
            "type": "compare",
            "op": ">",
            "left": out(name, offset=1),
            "right": {"type": "price"},
        }
        for name in outputs[1:]
    ]
    parts.append(
        {"type": "trend", "direction": "rising", "operand": out(outputs[-1], scale=1.5)}
    )
    use = {"id": "ind", "kind": kind}
    if timeframe:
        use["timeframe"] = timeframe
    return parse_spec(
        {
            "name": f"{kind} catalog check",
            "indicators": [use],
            "long": {
                "entry": {"type": "any", "conditions": parts},
                "exit": {
                    "type": "cross",
                    "direction": "below",
                    "left": out(outputs[0]),
                    "right": level,
                },
            },
            "short": {
                "entry": {
                    "type": "not",
                    "condition": {"type": "all", "conditions": parts},
                }
            },
            "risk": {"stop": {"type": "atr", "value": 2}},
        }
    )


def assigned_names(tree: pn.Script) -> list[str]:
    names = []
    for statement in tree.body:
        if not isinstance(statement, pn.Assign):
            continue
        target = statement.target
        elements = target.elts if isinstance(target, pn.Tuple) else [target]
        names += [e.id for e in elements if isinstance(e, pn.Name)]
    return names


@pytest.mark.parametrize("kind", list(CATALOG))
def test_every_kind_renders_a_clean_script(kind):
    code = render_strategy(spec_using(kind))
    tree = check_script(code)
    names = assigned_names(tree)
    assert len(names) == len(set(names))  # each series is computed exactly once
    for output in CATALOG[kind].output_names():
        assert f"ind_{output}" in names
        assert f"ind_{output}_raw" not in names
    assert "request.security" not in code


@pytest.mark.parametrize("kind", list(CATALOG))
def test_every_kind_renders_a_clean_script_on_a_higher_timeframe(kind):
    code = render_strategy(spec_using(kind, timeframe="240"))
    tree = check_script(code)
    names = assigned_names(tree)
    assert len(names) == len(set(names))
    for output in CATALOG[kind].output_names():
        assert f"ind_{output}" in names and f"ind_{output}_raw" in names
        assert f"ind_{output}_raw[1]" in code
    assert code.count("request.security(") == 1
    assert "lookahead=barmerge.lookahead_on" in code
    assert 'ind_timeframe = input.timeframe("240"' in code


def test_each_family_file_holds_exactly_the_macros_of_its_kinds():
    families: dict[str, set[str]] = {}
    for entry in CATALOG.values():
        families.setdefault(entry.family, set()).add(entry.kind)
    for family, kinds in families.items():
        module = ENVIRONMENT.get_template(f"{family}.pine.j2").module
        macros = {
            name for name, value in vars(module).items() if isinstance(value, Macro)
        }
        assert macros == kinds, family
