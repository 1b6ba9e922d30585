"""When and which way to trade: sessions, date ranges, sides, alerts, timeframes.

Like the risk readers, each reader takes its phrases out of the `Text` and
records problems in the user's words.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from pydantic import ValidationError

from engine.composer.reader import TF_WORD, Text, parse_timeframe
from engine.spec import SessionWindow

# ---------------------------------------------------------------------- dates

_DATE = r"(?:19|20|21)\d{2}[-/.]\d{1,2}[-/.]\d{1,2}"
_DATE_RANGE = (
    r"(?:\b(?:only\s+)?(?:trade\s+)?(?:between|from|since|after|starting(?:\s+from)?"
    r"|until|till|before|through|up\s+to)\s+)?(?P<first>" + _DATE + r")"
    r"(?:\s*(?:and|to|until|till|through|-)\s*(?P<second>" + _DATE + r"))?"
)


def _to_date(word: str) -> dt.date | None:
    year, month, day = (int(part) for part in re.split(r"[-/.]", word))
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


def read_dates(text: Text, errors: list[dict]) -> dict[str, Any] | None:
    """Read "between 2022-01-01 and 2024-12-31", "since 2020-01-01", "until ..."."""
    found = list(text.take(_DATE_RANGE))
    if not found:
        return None
    # Limitation: one date range per strategy; later ones are ignored.
    match, raw = found[0]
    days = [_to_date(match.group("first"))]
    if match.group("second"):
        days.append(_to_date(match.group("second")))
    if None in days:
        errors.append({"text": raw, "field": "date_range", "message": "not a date"})
        return None
    if len(days) == 1 and re.match(r"(?:until|till|before|up\s+to)", match.group(0)):
        # Limitation: an open start is written as 1970-01-01, the spec's floor.
        days.insert(0, dt.date(1970, 1, 1))
    if len(days) == 2 and days[1] <= days[0]:
        message = "the end date must come after the start date"
        errors.append({"text": raw, "field": "date_range", "message": message})
        return None
    if any(not 1970 <= day.year <= 2100 for day in days):
        message = "dates must fall between 1970 and 2100"
        errors.append({"text": raw, "field": "date_range", "message": message})
        return None
    range_data = {"start": days[0].isoformat()}
    if len(days) == 2:
        range_data["end"] = days[1].isoformat()
    return range_data


# -------------------------------------------------------------------- session

_ZONES = (
    (r"new\s+york|nyse|nasdaq|ny|us|wall\s+street", "America/New_York", "0930-1600"),
    (r"london|lse|uk", "Europe/London", "0800-1630"),
    (r"frankfurt|xetra|europe(?:an)?", "Europe/Berlin", "0900-1730"),
    (r"tokyo|asian?|japan(?:ese)?", "Asia/Tokyo", "0900-1500"),
    (r"sydney|australian?", "Australia/Sydney", "1000-1600"),
    (r"hong\s+kong", "Asia/Hong_Kong", "0930-1600"),
)
_ABBREVIATIONS = {
    "utc": "UTC",
    "gmt": "UTC",
    "est": "America/New_York",
    "edt": "America/New_York",
    "et": "America/New_York",
    "eastern": "America/New_York",
    "cet": "Europe/Berlin",
    "cest": "Europe/Berlin",
    "exchange": "exchange",
}
_TIME = r"(?P<{0}h>\d{{1,2}}):?(?P<{0}m>\d{{2}})?\s*(?P<{0}ap>am|pm)?"
_RANGE = (
    r"(?:\b(?:trade|trading|only|between|from|during|hours?|session|of|:)\s*)*"
    r"(?<![\d:.])(?:"
    + _TIME.format("a")
    + r")\s*(?:-|to|until|till|and)\s*(?:"
    + _TIME.format("b")
    + r")(?!\d|:\d)(?:\s*\(?(?P<tz>utc|gmt|est|edt|et|cet|cest|eastern|exchange)"
    r"(?:\s+time)?\)?(?![a-z]))?"
)
_END_OF_SESSION = (
    r"\b(?:go\s+|be\s+|stay\s+)?(?:flat|close(?:\s+(?:all|everything|positions))?"
    r"|exit(?:\s+all)?)\s+(?:at|by|before)\s+(?:the\s+)?(?:session\s+(?:end|close)"
    r"|end\s+of\s+(?:the\s+)?(?:session|day)|close\s+of\s+(?:the\s+)?session)"
)


def _clock(hours: str, minutes: str | None, meridiem: str | None) -> str | None:
    hour, minute = int(hours), int(minutes or 0)
    if meridiem == "pm" and hour < 12:
        hour += 12
    if meridiem == "am" and hour == 12:
        hour = 0
    if hour > 23 or minute > 59:
        return None
    return f"{hour:02d}{minute:02d}"


def _is_clock_range(match: re.Match[str]) -> bool:
    # "9:30-16:00" and "9am-4pm" are times; "0930-1600" only beside "session"
    # or "hours", so that "2022-2024" or "20-50" are never read as a window.
    span = match.group(0)
    if match.group("aap") or match.group("bap") or re.search(r"\d:\d", span):
        return True
    return bool(match.group("am")) and bool(re.search(r"session|hours|trad", span))


def read_session(text: Text, errors: list[dict]) -> dict[str, Any] | None:
    """Read a trading window ("New York session 09:30-16:00", "9am-4pm UTC")."""
    zone, default_hours, zone_words = "exchange", None, None
    for pattern, name, hours in _ZONES:
        words = r"\b(?:the\s+)?(?:" + pattern + r")\s+(?:trading\s+|cash\s+)?session"
        found = re.search(words, text.low)
        if found:
            zone, default_hours, zone_words = name, hours, found.span()
            break
    window = None
    # Limitation: one trading window; the first time range is the session.
    for match in re.finditer(_RANGE, text.low):
        if not _is_clock_range(match):
            continue
        raw = " ".join(text.raw[match.start() : match.end()].split())
        text.blank(match.start(), match.end())
        start = _clock(match.group("ah"), match.group("am"), match.group("aap"))
        end = _clock(match.group("bh"), match.group("bm"), match.group("bap"))
        if start is None or end is None:
            message = "not a time window such as 09:30-16:00"
            errors.append({"text": raw, "field": "session", "message": message})
            return None
        window = f"{start}-{end}"
        zone = _ABBREVIATIONS.get(match.group("tz") or "", zone)
        break
    if zone_words:
        text.blank(*zone_words)
    window = window or default_hours
    closes = text.take_first(_END_OF_SESSION)
    holds = text.take_first(r"\bhold\s+(?:positions\s+)?overnight\b")
    if window is None:
        if closes:
            raise_vague = (
                "Say which session to close at, e.g. 'New York session 09:30-16:00'."
            )
            errors.append({"text": closes[1], "field": "session", "vague": raise_vague})
        return None
    data = {"session": window, "timezone": zone, "close_at_end": holds is None}
    try:
        SessionWindow(**data)
    except ValidationError:
        message = "not a time window such as 09:30-16:00"
        errors.append({"text": window, "field": "session", "message": message})
        return None
    return data


# ---------------------------------------------------------------------- sides

_LONG_ONLY = (
    r"\b(?:long[\s-]*only|only\s+longs?|longs\s+only|only\s+(?:go|trade|take)\s+longs?"
    r"|no\s+short(?:s|ing)?|never\s+short)\b"
)
_SHORT_ONLY = (
    r"\b(?:short[\s-]*only|only\s+shorts?|shorts\s+only|only\s+(?:go|trade|take)\s+shorts?"
    r"|no\s+longs)\b"
)
_BOTH = (
    r"\b(?:(?:flip|switch|reverse|trade)\s+)?(?:longs?\s*(?:/|and|&|or|\+)\s*shorts?"
    r"|shorts?\s*(?:/|and|&)\s*longs?|both\s+(?:sides|directions|ways)"
    r"|always\s+in\s+the\s+market)\b"
)


def read_sides(text: Text) -> list[str] | None:
    """The sides the request allows outright ("long only", "long and short")."""
    for pattern, sides in ((_BOTH, ["long", "short"]), (_LONG_ONLY, ["long"])):
        if text.take_first(pattern):
            return sides
    if text.take_first(_SHORT_ONLY):
        return ["short"]
    return None


# --------------------------------------------------------------------- alerts

_ALERTS_ON = (
    r"\b(?:with\s+)?(?:an?\s+)?alerts?\s+(?:on|for|at|when)\s+(?:every\s+|each\s+|all\s+)?"
    r"(?:(?P<both>entries\s+and\s+exits|entry\s+and\s+exit|trades?|signals?|orders?)"
    r"|(?P<entry>entries|entry|buys?)|(?P<exit>exits?|sells?|closes?))\b"
)
_ALERTS_ANY = r"\b(?:with\s+alerts?|(?:send|add|fire|create)\s+(?:an?\s+)?alerts?)\b"


def read_alerts(text: Text) -> dict[str, bool] | None:
    """Read "with alerts on every entry" (entries), "with alerts" (both)."""
    found = text.take_first(_ALERTS_ON)
    if found:
        match = found[0]
        both = bool(match.group("both"))
        return {
            "on_entry": both or bool(match.group("entry")),
            "on_exit": both or bool(match.group("exit")),
        }
    if text.take_first(_ALERTS_ANY):
        return {"on_entry": True, "on_exit": True}
    return None


# ----------------------------------------------------------------- timeframes

_CHART_TF = (
    r"\b(?:(?:on|for|using|in)\s+(?:an?\s+|the\s+)?)?(?P<tf>" + TF_WORD + r")"
    r"\s*(?:chart|timeframe|tf|candles|bars)\b"
    r"|\b(?:timeframe|tf)\s*(?:of|=|:|is)?\s*(?P<tf2>" + TF_WORD + r")"
    r"|\bon\s+(?!(?:the|a|an)\s)[a-z][a-z0-9]{1,11}(?:/[a-z]{2,5})?\s+(?P<tf3>"
    + TF_WORD
    + r")"
    r"(?=\s*(?:$|[,.;:!?)]))"
)


def read_chart_timeframe(text: Text, hint: Any) -> str | None:
    """The chart's timeframe: the caller's hint first, else "on a 1h chart"."""
    stated = None
    found = text.take_first(_CHART_TF)
    if found:
        match = found[0]
        stated = parse_timeframe(
            match.group("tf") or match.group("tf2") or match.group("tf3")
        )
    if isinstance(hint, str | int) and parse_timeframe(str(hint)):
        return parse_timeframe(str(hint))
    return stated
