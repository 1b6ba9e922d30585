"""The words of conditions, and a cursor that reads operands from tokens.

Shared by the condition reader: relation words ("crosses", "above",
"rising"...), the atom, its error, the reading context, and readers for the
small pieces every relation uses (an operand, a direction, a comparator, a
level zone, a bar count).
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.composer import templates as tpl
from engine.composer.tokens import Tok
from engine.composer.uses import Uses

FILLERS = frozenset(
    {"the", "a", "an", "is", "are", "was", "be", "been", "being", "has", "have",
     "had", "its", "it's", "currently", "still", "back", "just", "also", "own",
     "of", "value", "level", "reading", "on"}
)  # fmt: skip
VERBS = frozenset({"closes", "closed", "closing"})
ABOVE = frozenset({"above", "over", "up", "upward", "upwards", "higher", "into"})
BELOW = frozenset({"below", "under", "down", "downward", "downwards", "beneath"})
GREATER = {"above": ">", "over": ">", "exceeds": ">", "exceed": ">", "tops": ">"}
LESS = {"below": "<", "under": "<", "beneath": "<"}
CROSS = frozenset(
    {"cross", "crosses", "crossed", "crossing", "crossover", "crossovers", "crossunder"}
)
TURN = frozenset({"turns", "turn", "turned", "turning", "flips", "goes", "becomes"})
RISING = frozenset({"rising", "rises", "rose", "increasing", "increases", "climbing"})
FALLING = frozenset(
    {"falling", "falls", "fell", "decreasing", "decreases", "declining"}
)
TOUCH = frozenset({"touches", "touch", "touching", "tags", "hits", "hit", "reaches"})
TOUCH |= {"tests", "test", "pierces"}
BREAKOUT = frozenset({"breakout", "breakouts", "breaks", "break"})
FLIP = frozenset({"flip", "flips", "reversal", "reverses", "follower", "following"})
CHANGE = frozenset({"change", "changes", "changed"})
BOUNCE = frozenset({"bounce", "bounces", "bouncing", "exits", "leaves", "recovers"})
BULL = frozenset({"positive", "bullish", "up", "green", "long"})
BEAR = frozenset({"negative", "bearish", "down", "red", "short"})


# Words that may come before an atom's subject and mean nothing there.
LEADING = frozenset(
    {"when", "whenever", "if", "once", "then", "only", "also", "and", "both",
     "while", "after", "as", "so", "today", "now", "simple", "simply"}
)  # fmt: skip
# Words that make a relation: after a complete atom they mean an unread rule.
RELATION_WORDS = (
    CROSS | TURN | RISING | FALLING | TOUCH | BREAKOUT | ABOVE | BELOW
    | {"between", "oversold", "overbought", "golden", "death", "zero", "greater",
       "less", "breakdown"}
)  # fmt: skip


class AtomError(Exception):
    """The atom could not be read; `known` says whether it named anything we know."""

    def __init__(self, text: str, known: bool) -> None:
        super().__init__(text)
        self.text = text
        self.known = known


@dataclass
class Atom:
    """A condition as written (`fixed`), a per-side `template`, or a bare level."""

    text: str
    fixed: dict | None = None
    template: tpl.Template | None = None
    bare: dict | None = None


@dataclass
class Context:
    """What reading earlier atoms left behind: "it" and "above 80 for shorts"."""

    uses: Uses
    last_subject: dict | None = None
    last_cross: tuple[dict, dict, dict] | None = None


class Cursor:
    def __init__(self, tokens: list[Tok]) -> None:
        self.tokens = tokens
        self.i = 0

    def peek(self, ahead: int = 0) -> Tok | None:
        at = self.i + ahead
        return self.tokens[at] if at < len(self.tokens) else None

    def text(self, ahead: int = 0) -> str:
        token = self.peek(ahead)
        return token.text if token else ""

    def take(self, *words: str) -> bool:
        if all(self.text(n) == word for n, word in enumerate(words)):
            self.i += len(words)
            return True
        return False

    def rest(self) -> list[Tok]:
        return self.tokens[self.i :]


def read_operand(cur: Cursor, ctx: Context) -> dict | None:
    """An indicator, price (with "previous close" one bar back) or number."""
    offset = 0
    earlier = ("previous", "prior", "last", "yesterday's", "yesterday")
    if cur.text() in earlier and cur.peek(1) and cur.peek(1).kind == "price":
        cur.i += 1
        offset = 1
    token = cur.peek()
    if token is None:
        return None
    if token.kind == "ref" and token.value[0]:
        cur.i += 1
        return tpl.ref(ctx.uses, *token.value)
    if token.kind == "operand":
        cur.i += 1
        return dict(token.value)
    if token.kind == "price":
        cur.i += 1
        source = token.value
        nxt = cur.peek()
        if nxt and nxt.kind == "price" and (nxt.text in VERBS or token.text == "price"):
            cur.i += 1
            source = nxt.value if nxt.text not in VERBS else source
        operand = {"type": "price", "source": source}
        return {**operand, "offset": offset} if offset else operand
    if token.kind == "num":
        cur.i += 1
        if cur.text() == "%":
            cur.i += 1
        return tpl.number(token.value)
    if token.text == "zero":
        cur.i += 1
        return tpl.number(0)
    return None


def read_direction(cur: Cursor) -> str | None:
    """ "above" or "below" from a direction word, if one comes next."""
    word = cur.text()
    if word in ABOVE:
        cur.i += 1
        return "above"
    if word in BELOW:
        cur.i += 1
        return "below"
    return None


def read_comparator(cur: Cursor) -> str | None:
    """A comparison operator from symbols or words ("greater than", "under")."""
    token = cur.peek()
    if token is None:
        return None
    if token.kind == "op" and token.value != "=":
        cur.i += 1
        return token.value
    pairs = {
        ("greater", "than"): ">",
        ("higher", "than"): ">",
        ("more", "than"): ">",
        ("less", "than"): "<",
        ("lower", "than"): "<",
        ("at", "least"): ">=",
        ("at", "most"): "<=",
    }
    for words, op in pairs.items():
        if cur.take(*words):
            return op
    if cur.take("at", "or", "above"):
        return ">="
    if cur.take("at", "or", "below"):
        return "<="
    for table in (GREATER, LESS):
        if token.text in table:
            cur.i += 1
            return table[token.text]
    return None


def read_zone(cur: Cursor, subject: dict) -> dict | None:
    """A level condition on `subject` if a comparator and a number come next."""
    # "%K crosses %D below 20": a level the crossing must happen beyond.
    start = cur.i
    op = read_comparator(cur)
    level = cur.peek()
    if op and level is not None and level.kind == "num":
        cur.i += 1
        return tpl.compare(op, subject, tpl.number(level.value))
    cur.i = start
    return None


def trend_way(word: str) -> str:
    """ "rising" or "falling" for a trend word."""
    return "rising" if word in RISING or word == "up" else "falling"


_BAR_WORDS = ("bars", "bar", "candles", "candle", "days", "periods", "sessions")


def read_bars(cur: Cursor) -> int:
    """The bar count of "for 3 bars", "over the last 5 candles" (default 1).

    A bare number needs "for" before it or a bar word after it, so that
    "rising 14" is not read as fourteen bars.
    """
    start = cur.i
    leads = [cur.take(word) for word in ("for", "over", "in", "last", "past")]
    token = cur.peek()
    if token is None or token.kind != "num" or token.value != int(token.value):
        cur.i = start
        return 1
    cur.i += 1
    cur.take("consecutive")
    unit = cur.text() in _BAR_WORDS
    if unit:
        cur.i += 1
    cur.take("in", "a", "row")
    if not (unit or any(leads)):
        cur.i = start
        return 1
    return max(1, int(token.value))
