"""Turn a validated strategy spec into the named facts the Pine templates print.

The templates under `pinescript_templates/` only print: every identifier, input
and operand expression is decided here, so that names are unique, never shadow
a Pine built-in, and come out byte-for-byte the same for the same spec.

Naming scheme:

* everything derived from an indicator is snake_case, `<id>_<suffix>`
  (`rsi_length`, `macd_signal`, `macd_signal_raw`); the id itself is never a
  name, so an id such as `close` or `na` cannot shadow a built-in;
* everything else is camelCase (`longEntry`, `stopPercent`, `inSession`).
  Spec ids are lowercase, so the two families can never meet.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

from engine.catalog import PRICE_SOURCES, get_indicator
from engine.render_conditions import ConditionLine, RuleWriter
from engine.render_custom import render_expression
from engine.render_names import TEMPLATE_NAMES, NameTable, PineInput
from engine.render_risk import FilterPlan, RiskPlan, plan_filters, plan_risk
from engine.spec import IndicatorUse, StrategySpec

MAX_PLOTS = 64  # TradingView refuses a script with more plot-type calls

# Intermediate series some kinds need besides their outputs.
_HELPERS: dict[str, tuple[str, ...]] = {
    "stochrsi": ("rsi",),
    "ichimoku": ("lead_a", "lead_b"),
}

_PALETTE = (
    "color.blue",
    "color.orange",
    "color.purple",
    "color.teal",
    "color.fuchsia",
    "color.olive",
    "color.navy",
    "color.maroon",
    "color.aqua",
    "color.lime",
    "color.gray",
    "color.yellow",
)
_PLOT_STYLES = {"hist": "plot.style_histogram", "psar": "plot.style_cross"}


@dataclass(frozen=True)
class IndicatorBlock:
    """Names for one indicator use; the family macro fills `out` from `p`."""

    id: str
    kind: str
    family: str
    p: SimpleNamespace  # param -> input variable
    out: SimpleNamespace  # output -> variable the macro assigns
    tmp: SimpleNamespace  # helper series of this kind
    final: dict[str, str]  # output -> variable conditions and plots read
    timeframe: str | None  # the input.timeframe variable, if any
    expression: str | None = None  # a user-defined indicator's Pine expression

    @property
    def targets(self) -> tuple[str, ...]:
        """The variables the macro assigns, in the catalog's output order."""
        return tuple(vars(self.out).values())

    @property
    def htf(self) -> tuple[tuple[str, str], ...]:
        """(final, raw) pairs fetched from the higher timeframe, if any."""
        if self.timeframe is None:
            return ()
        return tuple((self.final[o], raw) for o, raw in vars(self.out).items())


@dataclass(frozen=True)
class PlotLine:
    series: str
    title: str
    color: str
    style: str | None
    data_window: bool  # an oscillator on a price chart: values only, no line
    force_overlay: bool  # a price-scale line drawn from a pane strategy


@dataclass(frozen=True)
class SidePlan:
    side: str  # long | short
    entry_id: str  # "Long" | "Short"
    direction: str  # strategy.long | strategy.short
    entry: str  # the entry rule's bool
    exit: str | None  # the exit rule's bool, if any
    is_open: str  # true while this side holds a position
    not_open: str  # true when a signal on this side opens a new trade


@dataclass(frozen=True)
class RuleLines:
    title: str
    lines: tuple[ConditionLine, ...]


@dataclass(frozen=True)
class StrategyPlan:
    spec: StrategySpec
    short_title: str
    description: str
    inputs: tuple[PineInput, ...]
    indicators: tuple[IndicatorBlock, ...]
    rules: tuple[RuleLines, ...]
    sides: tuple[SidePlan, ...]
    risk: RiskPlan | None
    filters: FilterPlan
    plots: tuple[PlotLine, ...]
    markers_force_overlay: bool
    one_side: str | None  # "long" / "short" when the other side is absent
    omitted_plots: int = 0


def build_plan(spec: StrategySpec) -> StrategyPlan:
    """Name everything the templates need for `spec`, in the spec's own order."""
    names = NameTable(TEMPLATE_NAMES)
    inputs: list[PineInput] = []

    blocks = [_indicator_block(use, names, inputs) for use in spec.indicators]
    series = {
        (block.id, output): final
        for block in blocks
        for output, final in block.final.items()
    }

    sides, rules = _sides_and_rules(spec, names, inputs, series)
    risk = plan_risk(spec, names, inputs)
    filters = plan_filters(spec, names, inputs)
    plots, omitted = _plots(spec, blocks, len(sides))

    present = [s.side for s in sides]
    return StrategyPlan(
        spec=spec,
        short_title=_short_title(spec.name),
        description=spec.description,
        inputs=tuple(inputs),
        indicators=tuple(blocks),
        rules=tuple(rules),
        sides=tuple(sides),
        risk=risk,
        filters=filters,
        plots=tuple(plots),
        markers_force_overlay=not spec.settings.overlay,
        one_side=present[0] if len(present) == 1 else None,
        omitted_plots=omitted,
    )


# ---------------------------------------------------------------- indicators


def _indicator_block(
    use: IndicatorUse, names: NameTable, inputs: list[PineInput]
) -> IndicatorBlock:
    entry = get_indicator(use.kind)
    assert entry is not None  # the spec validator checked the kind
    group = f"{entry.title} ({use.id})"
    values = use.resolved_params()

    params = {}
    for definition in entry.params:
        name = names.take(f"{use.id}_{definition.name}")
        params[definition.name] = name
        inputs.append(_param_input(name, definition, values[definition.name], group))

    timeframe = None
    if use.timeframe is not None:
        timeframe = names.take(f"{use.id}_timeframe")
        inputs.append(
            PineInput(timeframe, "timeframe", use.timeframe, "Timeframe", group)
        )

    htf = use.timeframe is not None
    finals = {o: names.take(f"{use.id}_{o}") for o in entry.output_names()}
    raws = {o: names.take(f"{finals[o]}_raw") for o in finals} if htf else finals
    helpers = {h: names.take(f"{use.id}_{h}") for h in _HELPERS.get(entry.kind, ())}
    expression = None
    if entry.template is not None:
        expression = render_expression(entry.template, params)

    return IndicatorBlock(
        id=use.id,
        kind=entry.kind,
        family=entry.family,
        p=SimpleNamespace(**params),
        out=SimpleNamespace(**raws),
        tmp=SimpleNamespace(**helpers),
        final=finals,
        timeframe=timeframe,
        expression=expression,
    )


def _param_input(name: str, definition: Any, value: Any, group: str) -> PineInput:
    kind = definition.type
    if kind == "source":
        assert value in PRICE_SOURCES  # a bare identifier goes into the script
        return PineInput(name, "source", value, definition.title, group)
    if kind == "bool":
        return PineInput(name, "bool", bool(value), definition.title, group)
    if kind == "int":
        return PineInput(
            name,
            "int",
            int(value),
            definition.title,
            group,
            minval=_maybe(int, definition.min),
            maxval=_maybe(int, definition.max),
            step=int(definition.step) if definition.step else 1,
        )
    return PineInput(
        name,
        "float",
        float(value),
        definition.title,
        group,
        minval=_maybe(float, definition.min),
        maxval=_maybe(float, definition.max),
        step=float(definition.step) if definition.step else _step_for(definition),
    )


def _maybe(convert: Any, value: float | None) -> Any:
    return None if value is None else convert(value)


def _step_for(definition: Any) -> float:
    # No step in the catalog: step by the last digit of the default (0.02 -> 0.01).
    exponent = Decimal(repr(float(definition.default))).normalize().as_tuple()[2]
    return float(Decimal(1).scaleb(min(int(exponent), 0)))


# ------------------------------------------------------------ sides and rules

_RULE_TITLES = {
    ("long", "entry"): "Long entry",
    ("long", "exit"): "Long exit",
    ("short", "entry"): "Short entry",
    ("short", "exit"): "Short exit",
}


def _sides_and_rules(
    spec: StrategySpec,
    names: NameTable,
    inputs: list[PineInput],
    series: dict[tuple[str, str], str],
) -> tuple[list[SidePlan], list[RuleLines]]:
    sides, rules = [], []
    for side, rules_of_side in spec.sides():
        rule_names = {}
        for part in ("entry", "exit"):
            condition = getattr(rules_of_side, part)
            if condition is None:
                continue
            title = _RULE_TITLES[(side, part)]
            rule = names.take(f"{side}{part.capitalize()}")
            writer = RuleWriter(rule, title, names, series, inputs)
            rules.append(RuleLines(title, tuple(writer.write(condition))))
            rule_names[part] = rule
        is_long = side == "long"
        sides.append(
            SidePlan(
                side=side,
                entry_id="Long" if is_long else "Short",
                direction="strategy.long" if is_long else "strategy.short",
                entry=rule_names["entry"],
                exit=rule_names.get("exit"),
                is_open=f"strategy.position_size {'>' if is_long else '<'} 0",
                not_open=f"strategy.position_size {'<=' if is_long else '>='} 0",
            )
        )
    return sides, rules


# --------------------------------------------------------------------- plots


def _plots(
    spec: StrategySpec, blocks: list[IndicatorBlock], markers: int
) -> tuple[list[PlotLine], int]:
    chart_overlay = spec.settings.overlay
    budget = MAX_PLOTS - markers
    plots: list[PlotLine] = []
    omitted = 0
    for block in blocks:
        entry = get_indicator(block.kind)
        assert entry is not None
        for output in entry.outputs:
            if not output.plot:
                continue
            if len(plots) >= budget:
                omitted += 1
                continue
            title = block.id if output.name == "value" else f"{block.id} {output.title}"
            style = _PLOT_STYLES.get(output.name) or _PLOT_STYLES.get(block.kind)
            plots.append(
                PlotLine(
                    series=block.final[output.name],
                    title=title,
                    color=_PALETTE[len(plots) % len(_PALETTE)],
                    style=style,
                    data_window=chart_overlay and not entry.overlay,
                    force_overlay=not chart_overlay and entry.overlay,
                )
            )
    return plots, omitted


def _short_title(name: str, limit: int = 24) -> str:
    # The chart legend shows the short title; cut long names at a word.
    if len(name) <= limit:
        return name
    cut = name[: limit - 1].rsplit(" ", 1)[0]
    if len(cut) < limit // 2:
        cut = name[: limit - 1]
    return cut.rstrip(" -,;:([") + "…"
