"""Adding clauses up into long and short rules.

Entries and filters of one side are all required; separate exit clauses are
alternatives. A rule given without a side applies to every side in play,
written for the first and mirrored for the other ("close above the 200 SMA"
becomes "close below" for shorts). "sell when ..." closes a long unless
shorts are in play.
"""

from __future__ import annotations

from collections.abc import Callable

from engine.composer import templates as tpl
from engine.composer.conditions import AtomError, Context
from engine.composer.rules import SIDES, Clause, read_groups, realise, refusal
from engine.composer.tokens import RefHistory
from engine.composer.uses import Uses
from engine.errors import ComposeError
from engine.spec import MAX_CONDITION_NODES

MAX_PARTS = 10  # AllCondition / AnyCondition hold at most 10 parts


def _read_clauses(
    clauses: list[Clause], refs: list, uses: Uses, words: Callable[[str], str]
) -> list[tuple[Clause, list]]:
    ctx = Context(uses)
    history = RefHistory(uses)
    read = []
    for clause in clauses:
        try:
            groups = read_groups(clause, refs, ctx, history)
        except AtomError as error:
            # An unmarked clause that says nothing we can read is a title or a
            # remark ("Volume spike", "Heikin-ashi is not needed"); a clause
            # that says "buy when ..." must be read in full or not at all.
            if clause.marked:
                raise refusal(error, words) from None
            continue
        bare = any(atom.bare is not None for group in groups for atom in group)
        if groups and (clause.marked or not bare):
            read.append((clause, groups))
    return read


def _sell_role(read: list[tuple[Clause, list]], allowed: list[str] | None) -> str:
    explicit = {c.side for c, _ in read if c.role == "entry" and c.side}
    if allowed is not None:
        return "short" if "short" in allowed else "exit"
    if "short" in explicit:
        return "short"
    has_long = "long" in explicit or any(
        c.role == "entry" and c.side is None for c, _ in read
    )
    return "exit" if has_long else "short"


def _settle_sells(read: list[tuple[Clause, list]], allowed: list[str] | None) -> None:
    sell = _sell_role(read, allowed)
    for clause, _ in read:
        if clause.role == "sell":
            is_short = sell == "short"
            clause.role = "entry" if is_short else "exit"
            clause.side = "short" if is_short else "long"


def build_sides(
    clauses: list[Clause],
    refs: list,
    uses: Uses,
    allowed: list[str] | None,
    words: Callable[[str], str],
) -> dict[str, dict]:
    """The spec's `long`/`short` rules (as data) for these clauses.

    `allowed` is the sides the request named outright ("long only"), if any.
    """
    read = _read_clauses(clauses, refs, uses, words)
    _settle_sells(read, allowed)
    explicit = [s for s in SIDES if any(c.side == s for c, _ in _entries(read))]
    default = allowed or explicit or ["long"]

    # Separate entry clauses for one side all apply ("long when A. Long when
    # B." is A and B): the stricter reading, never a rule the user left out.
    entries: dict[str, list] = {side: [] for side in SIDES}
    filters: dict[str, list] = {side: [] for side in SIDES}
    for clause, groups in read:
        if clause.role not in ("entry", "filter"):
            continue
        target = filters if clause.role == "filter" else entries
        sides = [clause.side] if clause.side else default
        for side in sides:
            target[side].append(
                _realise_or_fail(clause, groups, side, sides[0], uses, words)
            )

    in_play = [s for s in SIDES if entries[s] and (allowed is None or s in allowed)]
    missing = [s for s in (allowed or []) if not entries[s]]
    if missing and in_play:
        example = "above 30" if missing[0] == "long" else "below 70"
        raise ComposeError(
            "REQUEST_TOO_VAGUE",
            f"Say when to go {missing[0]}, e.g. '{missing[0]} when RSI(14) crosses "
            f"{example}'.",
            {"missing_side": missing[0]},
        )
    exits = _exits(read, in_play, uses, words)
    rules = {
        side: {
            "entry": tpl.all_of(filters[side] + entries[side]),
            "exit": tpl.any_of(exits[side]),
        }
        for side in in_play
    }
    for side, rule in rules.items():
        for part, condition in rule.items():
            _check_size(f"{side} {part}", condition)
    return rules


def _entries(read: list[tuple[Clause, list]]) -> list[tuple[Clause, list]]:
    return [(clause, groups) for clause, groups in read if clause.role == "entry"]


def _exits(read, in_play: list[str], uses: Uses, words) -> dict[str, list]:
    exits: dict[str, list] = {side: [] for side in SIDES}
    for clause, groups in read:
        if clause.role != "exit":
            continue
        sides = [clause.side] if clause.side else in_play
        for side in sides:
            try:
                condition = realise(groups, side, sides[0], clause, uses)
            except AtomError as error:
                raise refusal(error, words) from None
            # Limitation: an exit with no clear mirror is kept for the first
            # side only; the other side still closes on its opposite entry.
            if condition is not None:
                exits[side].append(condition)
    return exits


def _nodes(condition: dict) -> list[dict]:
    children = condition.get("conditions") or (
        [condition["condition"]] if condition["type"] == "not" else []
    )
    return [condition, *(node for child in children for node in _nodes(child))]


def _check_size(where: str, condition: dict | None) -> None:
    # The spec's own limits, said in words before validation says them in
    # field paths.
    if condition is None:
        return
    nodes = _nodes(condition)
    widest = max(len(node.get("conditions", [])) for node in nodes)
    if widest > MAX_PARTS or len(nodes) > MAX_CONDITION_NODES:
        raise ComposeError(
            "INVALID_PARAMETERS",
            f"The {where} rule combines too many conditions; keep it to "
            f"{MAX_PARTS} joined by 'and' (or 'or').",
            {"errors": [{"text": where, "message": "too many conditions"}]},
        )


def _realise_or_fail(clause, groups, side, natural, uses, words) -> dict:
    try:
        condition = realise(groups, side, natural, clause, uses)
    except AtomError as error:
        raise refusal(error, words) from None
    if condition is None:
        fragment = words(clause.text)
        raise ComposeError(
            "REQUEST_TOO_VAGUE",
            f"Say the {side} rule too: '{fragment}' has no clear {side} version.",
            {"text": fragment, "missing_side": side},
        )
    return condition
