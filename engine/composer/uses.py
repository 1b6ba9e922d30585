"""Indicator uses: one per distinct kind, parameters and timeframe.

Mentions that mean the same thing ("RSI(2) < 10 ... exit when RSI(2) > 70")
share one use. While conditions are read, uses carry temporary ids; the
spec's readable ids ("ema_9", "sma_50_d") are given once the unused ones are
dropped.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from engine.catalog import PRICE_SOURCES, get_indicator
from engine.composer.mentions import Mention
from engine.composer.reader import timeframe_minutes
from engine.errors import ComposeError
from engine.spec import IndicatorUse


class Uses:
    """The indicator uses of one request, deduplicated."""

    def __init__(self) -> None:
        self._items: dict[str, dict[str, Any]] = {}

    def add(self, kind: str, params: dict[str, Any], timeframe: str | None) -> str:
        """Return the temporary id of this use, adding it if it is new."""
        entry = get_indicator(kind)
        assert entry is not None
        full = {**entry.defaults(), **params}
        key = (kind, tuple(sorted(full.items())), timeframe)
        for uid, item in self._items.items():
            if item["key"] == key:
                item["params"].update(params)
                return uid
        uid = f"u{len(self._items)}"
        self._items[uid] = {
            "key": key,
            "kind": kind,
            "params": dict(params),
            "timeframe": timeframe,
        }
        return uid

    def kind(self, uid: str) -> str:
        """The catalog kind of a use."""
        return self._items[uid]["kind"]

    def param(self, uid: str, name: str) -> Any:
        """A parameter of a use, its catalog default if not given."""
        return dict(self._items[uid]["key"][1]).get(name)

    def timeframe(self, uid: str) -> str | None:
        """The timeframe of a use (None: the chart's)."""
        return self._items[uid]["timeframe"]

    def of_kind(self, *kinds: str) -> list[str]:
        """Uses of any of these kinds, in the order they were added."""
        return [uid for uid, item in self._items.items() if item["kind"] in kinds]

    def export(self, used: set[str]) -> tuple[list[dict[str, Any]], dict[str, str]]:
        """The spec's `indicators` for the used uses, and temporary -> final ids."""
        rename: dict[str, str] = {}
        kept = [uid for uid in self._items if uid in used]
        for uid in kept:
            item = self._items[uid]
            alone = sum(self._items[u]["kind"] == item["kind"] for u in kept) == 1
            name = _readable_id(item, alone)
            while name in rename.values():
                name = f"{name[:21]}_{len(rename) + 2}"
            rename[uid] = name
        indicators = []
        for uid in kept:
            item = self._items[uid]
            use: dict[str, Any] = {"id": rename[uid], "kind": item["kind"]}
            # Catalog order, so "BB 20/2" reads as the catalog lists it.
            order = [p.name for p in get_indicator(item["kind"]).params]
            use["params"] = {n: item["params"][n] for n in order if n in item["params"]}
            if item["timeframe"]:
                use["timeframe"] = item["timeframe"]
            indicators.append(use)
        return indicators, rename


def _readable_id(item: dict[str, Any], alone: bool) -> str:
    parts = [item["kind"]]
    if not alone:
        parts += [
            str(int(value))
            for name, value in item["params"].items()
            if "length" in name and isinstance(value, int | float)
        ][:2]
    if item["timeframe"]:
        parts.append(item["timeframe"].lower())
    return "_".join(parts)[:24]


def _bounds(definition: Any) -> str:
    if definition.type == "source":
        return "one of " + ", ".join(PRICE_SOURCES)
    if definition.type == "bool":
        return "true or false"
    number = "a whole number" if definition.type == "int" else "a number"
    return f"{number} from {definition.min:g} to {definition.max:g}"


def _param_errors(mention: Mention) -> list[dict[str, Any]]:
    # The spec decides what is valid; the catalog supplies the bounds we quote.
    entry = get_indicator(mention.kind)
    problems = []
    for name, value in mention.params.items():
        try:
            IndicatorUse(id="check", kind=mention.kind, params={name: value})
        except ValidationError:
            definition = entry.param(name) if entry else None
            if definition is None:
                message = f"{mention.kind} has no parameter '{name}'"
                problem = {"text": mention.raw, "message": message}
            else:
                title = definition.title[:1].lower() + definition.title[1:]
                problem = {
                    "text": mention.raw,
                    "indicator": mention.kind,
                    "param": name,
                    "value": value,
                    "min": definition.min,
                    "max": definition.max,
                    "message": f"{title} must be {_bounds(definition)}",
                }
            problems.append(problem)
    return problems


def chart_timeframe(mentions: list[Mention], stated: str | None) -> str | None:
    """The chart's timeframe; with none stated and several named ("4h MACD
    filter, 15m MACD entries"), the lowest is the chart's."""
    if stated:
        return stated
    named = {m.timeframe for m in mentions if m.timeframe}
    if len(named) > 1:
        return min(named, key=timeframe_minutes)
    return None


def _lower(timeframe: str, chart: str) -> bool:
    return timeframe_minutes(timeframe) < timeframe_minutes(chart)


def resolve(
    mentions: list[Mention], uses: Uses, chart: str | None, errors: list[dict]
) -> list[str | None]:
    """Give every mention its use id (None where its parameters are invalid)."""
    for mention in mentions:
        if mention.timeframe == chart:
            mention.timeframe = None
        elif mention.timeframe and chart and _lower(mention.timeframe, chart):
            message = f"a timeframe below the chart's ({chart}) cannot be used"
            errors.append({"text": mention.raw, "message": message})
        if mention.params.get("source") == "indicator":
            raise ComposeError(
                "NO_SUPPORTED_RULE",
                f"'{mention.raw}': an average of another indicator is not supported; "
                "averages can be taken of price or volume.",
                {"text": mention.raw},
            )
    ids: list[str | None] = []
    for index, mention in enumerate(mentions):
        problems = _param_errors(mention)
        errors.extend(problems)
        if problems:
            ids.append(None)
            continue
        params = mention.params or _borrowed_params(mentions, index)
        ids.append(uses.add(mention.kind, params, mention.timeframe))
    return ids


def _borrowed_params(mentions: list[Mention], index: int) -> dict[str, Any]:
    # "MFI(14) < 20 ... exit when MFI > 80": a mention without numbers means
    # the nearest one of the same kind and timeframe that has them.
    mention = mentions[index]
    before = reversed(mentions[:index])
    after = mentions[index + 1 :]
    for other in (*before, *after):
        same = other.kind == mention.kind and other.timeframe == mention.timeframe
        if same and other.params:
            return dict(other.params)
    return {}
