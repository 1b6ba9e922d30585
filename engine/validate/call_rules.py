"""Rules about particular calls and their arguments, independent of scope."""

from __future__ import annotations

from pynescript.ast import node as pn
from pynescript.ast.helper import walk

from . import pine_v6_names as names
from .ast_utils import (
    call_name,
    dotted_chain,
    get_arg,
    is_name,
    iter_calls,
    line_of,
    string_value,
)
from .pine_v6_names import words
from .report import WARNING, LintIssue

_DECLARATIONS = ("strategy", "indicator", "library", "study")
MAX_PLOTS = 64

# strategy()'s positional order, as far as anyone passes arguments by position.
_STRATEGY_PARAMS = words(
    "title shorttitle overlay format precision scale pyramiding calc_on_order_fills "
    "calc_on_every_tick max_bars_back backtest_fill_limits_assumption "
    "default_qty_type default_qty_value initial_capital currency slippage "
    "commission_type commission_value process_orders_on_close close_entries_rule "
    "margin_long margin_short"
)

# Arguments whose platform defaults have changed over time, so a backtest is
# only reproducible when the script states them.
RECOMMENDED_STRATEGY_ARGS = words(
    "overlay initial_capital default_qty_type default_qty_value currency "
    "commission_type commission_value slippage pyramiding process_orders_on_close "
    "calc_on_every_tick margin_long margin_short"
)

_EXIT_LEVELS = {"profit": 4, "limit": 5, "loss": 6, "stop": 7}


def check_calls(script: pn.Script) -> list[LintIssue]:
    """Declaration, argument, lookahead, plot-count and exit rules."""
    calls = [(call, call_name(call)) for call in iter_calls(script)]
    calls.sort(key=lambda item: (line_of(item[0]) or 0, item[0].col_offset or 0))

    issues = _check_declarations([c for c, name in calls if name in _DECLARATIONS])
    issues += _check_arguments(calls)
    plots = [call for call, name in calls if name in names.PLOT_COUNTING_FUNCTIONS]
    issues += _check_plot_count(plots)
    issues += _check_exits(calls)
    return issues


def _check_declarations(declarations: list[pn.Call]) -> list[LintIssue]:
    if not declarations:
        message = "the script has no strategy(), indicator() or library() call"
        return [LintIssue("MISSING_DECLARATION", message, None)]

    issues = []
    for extra in declarations[1:]:
        message = "a script has exactly one declaration; this is an extra one"
        issues.append(LintIssue("MULTIPLE_DECLARATIONS", message, line_of(extra)))

    first = declarations[0]
    kind = call_name(first)
    title = get_arg(first, "title", 0)
    if title is None or string_value(title) == "":
        message = f"{kind}() needs a non-empty title as its first argument"
        issues.append(LintIssue("MISSING_TITLE", message, line_of(first)))
    if kind == "strategy":
        issues += _check_strategy_args(first)
    return issues


def _check_strategy_args(call: pn.Call) -> list[LintIssue]:
    passed = {arg.name for arg in call.args if arg.name}
    positional = sum(1 for arg in call.args if arg.name is None)
    passed.update(_STRATEGY_PARAMS[:positional])
    missing = [name for name in RECOMMENDED_STRATEGY_ARGS if name not in passed]
    if not missing:
        return []
    message = (
        "set these strategy() arguments explicitly, their defaults have changed "
        f"between platform versions: {', '.join(missing)}"
    )
    return [LintIssue("STRATEGY_ARG_IMPLICIT", message, line_of(call), WARNING)]


def _check_arguments(calls: list[tuple[pn.Call, str | None]]) -> list[LintIssue]:
    issues = []
    for call, name in calls:
        for arg in call.args:
            if arg.name == "when":
                message = "`when=` was removed in Pine v6; wrap the call in an `if`"
                issues.append(LintIssue("WHEN_ARGUMENT", message, line_of(call)))
            elif arg.name == "transp":
                message = "`transp=` is a pre-v5 argument; use color.new(c, transp)"
                issues.append(LintIssue("LEGACY_NAME", message, line_of(call)))
            elif arg.name == "type" and name == "input":
                message = "input(type=...) is a pre-v5 form; use input.int() etc."
                issues.append(LintIssue("LEGACY_NAME", message, line_of(call)))
        if name == "request.security":
            issues += _check_lookahead(call)
    return issues


def _check_lookahead(call: pn.Call) -> list[LintIssue]:
    lookahead = get_arg(call, "lookahead", 4)
    if lookahead is None or dotted_chain(lookahead)[1] != "barmerge.lookahead_on":
        return []
    expression = get_arg(call, "expression", 2)
    if _has_history_offset(expression):
        return []
    message = (
        "barmerge.lookahead_on without a history offset repaints: request "
        "`expr[1]` or use barmerge.lookahead_off"
    )
    return [LintIssue("LOOKAHEAD_WITHOUT_OFFSET", message, line_of(call))]


def _has_history_offset(expression: pn.expr | None) -> bool:
    """Whether every requested value reads a past bar (``x[1]``, not ``x[0]``)."""
    if expression is None:
        return False
    if isinstance(expression, pn.Tuple):
        return all(_has_history_offset(element) for element in expression.elts)
    # Limitation: a variable that already holds `x[1]` is not followed here.
    return any(
        isinstance(node, pn.Subscript)
        and not (isinstance(node.slice, pn.Constant) and node.slice.value == 0)
        for node in walk(expression)
    )


def _check_plot_count(plots: list[pn.Call]) -> list[LintIssue]:
    # Limitation: one count per call; series colours that cost an extra count
    # on TradingView are not modelled.
    if len(plots) <= MAX_PLOTS:
        return []
    message = f"{len(plots)} plot-type calls; TradingView allows at most {MAX_PLOTS}"
    return [LintIssue("TOO_MANY_PLOTS", message, line_of(plots[MAX_PLOTS]))]


def _check_exits(calls: list[tuple[pn.Call, str | None]]) -> list[LintIssue]:
    entry_ids: set[str] = set()
    dynamic_entry = False
    for call, name in calls:
        if name in ("strategy.entry", "strategy.order"):
            entry_id = string_value(get_arg(call, "id", 0))
            if entry_id is None:
                dynamic_entry = True
            else:
                entry_ids.add(entry_id)

    issues = []
    for call, name in calls:
        if name == "strategy.exit":
            issues += _check_exit(call, entry_ids, dynamic_entry)
    return issues


def _check_exit(call: pn.Call, entry_ids: set[str], dynamic: bool) -> list[LintIssue]:
    issues = []
    line = line_of(call)
    from_entry = get_arg(call, "from_entry", 1)
    if get_arg(call, "id", 0) is None or from_entry is None:
        message = "strategy.exit() needs an id and a from_entry naming an entry"
        issues.append(LintIssue("EXIT_WITHOUT_ENTRY", message, line))
    else:
        entry = string_value(from_entry)
        if entry is not None and entry not in entry_ids and not dynamic:
            message = f'from_entry="{entry}" matches no strategy.entry() id'
            issues.append(LintIssue("EXIT_WITHOUT_ENTRY", message, line))

    def passed(name: str, position: int) -> bool:
        value = get_arg(call, name, position)
        return value is not None and not is_name(value, "na")

    has_level = any(passed(name, pos) for name, pos in _EXIT_LEVELS.items())
    trail_start = passed("trail_price", 8) or passed("trail_points", 9)
    if not has_level and not (trail_start and passed("trail_offset", 10)):
        message = (
            "strategy.exit() sets no stop, limit, profit or loss, nor a "
            "trail_price/trail_points with trail_offset, so it never fills"
        )
        issues.append(LintIssue("EXIT_WITHOUT_LEVELS", message, line))
    return issues
