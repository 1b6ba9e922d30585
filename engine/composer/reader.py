"""Reading the raw request: cleaning, the quoted name, numbers and timeframes.

The request is kept as a `Text`: the cleaned original and a lower-case copy of
the same length. Readers of settings (risk, session, dates...) blank the spans
they understood in both, so the condition reader never sees "2% stop" again
and the original wording stays at hand for error messages.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator

_TRANSLATE = str.maketrans(
    {
        "\u201c": '"',
        "\u201d": '"',
        "\u2018": "'",
        "\u2019": "'",
        "\u2013": "-",
        "\u2014": "-",
        "\u2212": "-",
        "\u2265": ">=",
        "\u2264": "<=",
        "\u2192": "->",
        "\u00d7": "x",
        "{": " ",
        "}": " ",
    }
)


def clean_text(raw: str) -> str:
    """Replace control and format characters with spaces; normalise punctuation."""
    text = raw.translate(_TRANSLATE)
    return "".join(
        " " if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") else ch
        for ch in text
    )


def _lower_same_length(text: str) -> str:
    # Some characters lower-case to two; keep those as they are so that
    # offsets in the lower copy are offsets in the original too.
    return "".join(ch.lower() if len(ch.lower()) == 1 else ch for ch in text)


class Text:
    """The request as it is being read: `raw` and `low` always align."""

    def __init__(self, raw: str) -> None:
        self.raw = raw
        self.low = _lower_same_length(raw)

    def blank(self, start: int, end: int) -> None:
        """Forget a span: a comma keeps the clauses on either side apart."""
        fill = ("," + " " * (end - start))[: end - start]
        self.raw = self.raw[:start] + fill + self.raw[end:]
        self.low = self.low[:start] + fill + self.low[end:]

    def take(self, pattern: str) -> Iterator[tuple[re.Match[str], str]]:
        """Yield each match of `pattern` in the lower copy with its original
        wording, blanking it as it goes."""
        for match in list(re.finditer(pattern, self.low)):
            original = self.raw[match.start() : match.end()]
            self.blank(match.start(), match.end())
            yield match, " ".join(original.split())

    def take_first(self, pattern: str) -> tuple[re.Match[str], str] | None:
        """Like `take`, for the first match only."""
        match = re.search(pattern, self.low)
        if match is None:
            return None
        original = self.raw[match.start() : match.end()]
        self.blank(match.start(), match.end())
        return match, " ".join(original.split())


_NAME = re.compile(
    r"""(?:\b(?:strategy\s+)?(?:named|called|titled|name\s*[:=]?|call\s+it)\s*)
        (?:"(?P<dq>(?:\\.|[^"\\])*)"|'(?P<sq>(?:\\.|[^'\\])*)')""",
    re.IGNORECASE | re.VERBOSE,
)


def extract_name(text: Text) -> str | None:
    """Take a quoted strategy name (`named "My idea"`) out of the request.

    Backslash escapes inside the quotes are undone, so `\\"` becomes a quote:
    the name is plain text here and only the renderer makes it a Pine literal.
    """
    match = _NAME.search(text.raw)
    if match is None:
        return None
    quoted = match.group("dq") if match.group("dq") is not None else match.group("sq")
    text.blank(match.start(), match.end())
    name = re.sub(r"\\(.)", r"\1", quoted)
    name = " ".join(name.split())
    return name[:80].strip() or None


def strip_markup(text: Text) -> None:
    """Blank HTML-like tags (`<script>`), which are never part of a rule."""
    for _ in text.take(r"</?[a-z][a-z0-9-]*\s*/?>"):
        pass


def to_number(token: str) -> float:
    """Parse a number token ("14", "-5", "1.5", "10,000", "10k")."""
    token = token.replace(",", "").strip()
    factor = 1.0
    if token[-1:] in ("k", "K"):
        token, factor = token[:-1], 1000.0
    return float(token) * factor


def as_param(value: float) -> int | float:
    """Whole numbers become ints, so "RSI 14" gives length 14, not 14.0."""
    return int(value) if float(value).is_integer() else value


# ------------------------------------------------------------------ timeframes

TF_WORD = (
    r"(?:\d{1,4}\s*-?\s*(?:minutes?|mins?|m|hours?|hrs?|h)(?![a-z0-9])"
    r"|[mh]\d{1,4}(?![a-z0-9])|1\s*-?\s*(?:day|d|week|w)(?![a-z0-9])|d1|w1"
    r"|daily|weekly|monthly|hourly)"
)

_PINE_TF = re.compile(r"^(?:[1-9]\d{0,3}|[1-9]?\d{0,2}[SDWM])$")


def parse_timeframe(word: str) -> str | None:
    """A timeframe as Pine writes it ("60", "240", "D", "W"), or None."""
    word = word.strip()
    if word in ("M", "1M"):
        return "M"
    low = word.lower().replace("-", "").replace(" ", "")
    named = {"daily": "D", "weekly": "W", "monthly": "M", "hourly": "60"}
    if low in named:
        return named[low]
    if low in ("d", "1d", "d1", "1day", "day"):
        return "D"
    if low in ("w", "1w", "w1", "1week", "week"):
        return "W"
    match = re.fullmatch(r"(\d{1,4})(minutes?|mins?|m|hours?|hrs?|h)?", low) or (
        re.fullmatch(r"([mh])(\d{1,4})", low)
    )
    if match is None:
        upper = word.upper()
        return upper if _PINE_TF.match(upper) else None
    if match.group(1) in ("m", "h"):
        unit, count = match.group(1), int(match.group(2))
    else:
        count, unit = int(match.group(1)), (match.group(2) or "m")
    minutes = count * 60 if unit.startswith("h") else count
    if not 1 <= minutes <= 1440:
        return None
    return "D" if minutes == 1440 else str(minutes)


def timeframe_minutes(timeframe: str) -> float:
    """Minutes in one bar of a Pine timeframe, to compare timeframes."""
    match = re.fullmatch(r"(\d*)([SDWM]?)", timeframe)
    if match is None:
        return 0.0
    count = int(match.group(1) or 1)
    unit = {"": 1.0, "S": 1 / 60, "D": 1440.0, "W": 10080.0, "M": 43200.0}
    return count * unit[match.group(2)]
