"""Reading one condition ("atom") from the tokens of a clause.

An atom is a subject and a relation: "RSI(14) crosses above 30", "close is
above the 200 SMA", "OBV rising for 3 bars", "%K crosses %D below 20",
"volume is 2x its 20-bar average", "MACD histogram turns positive". Some
relations only make sense per side ("EMA 9/21 crossover", "Supertrend flip");
those become templates that are completed once the side is known.
"""

from __future__ import annotations

from typing import Any

from engine.composer import cursor as w
from engine.composer import templates as tpl
from engine.composer.cursor import Atom, AtomError, Context
from engine.composer.lexicon import OVERBOUGHT, OVERSOLD
from engine.composer.tokens import Tok

__all__ = ["Atom", "AtomError", "Context", "read_atom"]


def read_atom(tokens: list[Tok], ctx: Context) -> Atom | None:
    """Read one atom (None for filler words only); AtomError if unreadable."""
    text = " ".join(t.text for t in tokens)
    words = [t for t in tokens if t.kind != "word" or t.text not in w.FILLERS]
    known = any(t.kind in ("ref", "price") for t in tokens)
    words = [
        Tok("operand", ctx.last_subject, "it")
        if t.text in ("it", "they") and ctx.last_subject
        else t
        for t in words
    ]
    if not words:
        return None
    cur = w.Cursor(words)
    atom = _read(cur, ctx, text)
    if atom is None:
        raise AtomError(text, known)
    # Trailing words are remarks ("turtle style"), but a trailing number,
    # indicator or price ("on strong volume") is a rule we did not read.
    unread = ("ref", "op", "operand", "num")
    for token in cur.rest():
        relation = token.kind == "word" and token.text in w.RELATION_WORDS
        if (
            token.kind in unread
            or relation
            or (token.kind == "price" and token.value != "close")
        ):
            raise AtomError(text, True)
    return atom


def _read(cur: w.Cursor, ctx: Context, text: str) -> Atom | None:
    uses = ctx.uses
    while cur.peek() and (
        cur.text() in w.LEADING or cur.peek().kind in ("punct", "pct", "arrow")
    ):
        cur.i += 1
    if cur.take("golden", "cross"):
        return Atom(text, fixed=tpl.golden_cross(uses, "above"))
    if cur.take("death", "cross"):
        return Atom(text, fixed=tpl.golden_cross(uses, "below"))
    if cur.text() in ("green", "red", "bullish", "bearish") and cur.text(1) in (
        "candle",
        "bar",
        "close",
    ):
        op = ">" if cur.text() in ("green", "bullish") else "<"
        return Atom(text, fixed=tpl.candle(op))
    leading = cur.text() if cur.text() in ("oversold", "overbought") else None
    if leading:
        cur.i += 1
    subject = w.read_operand(cur, ctx)
    inherited = subject is None and ctx.last_subject is not None
    if subject is None and cur.peek() is None:
        return None
    if inherited:
        if ctx.last_cross and w.read_zone(w.Cursor(cur.rest()), ctx.last_subject):
            zone = w.read_zone(cur, ctx.last_subject)
            left, right, _ = ctx.last_cross
            return Atom(text, template=tpl.cross_with_zone(left, right, zone))
        subject = dict(ctx.last_subject)
    # A number is a level, never the thing a rule is about ("14 above 14").
    if subject is None or subject["type"] == "number":
        return None
    ctx.last_subject = subject
    ctx.last_cross = None
    if leading:
        return _extreme(cur, ctx, subject, leading, text)
    partner = None
    if cur.text() in ("/", "vs", "versus", "x", "and") and cur.peek(1):
        start = cur.i
        cur.i += 1
        partner = w.read_operand(cur, ctx)
        if partner is None:
            cur.i = start
    while cur.peek() and cur.peek().kind == "price" and cur.text() in w.VERBS:
        cur.i += 1
    atom = _relation(cur, ctx, subject, partner, text)
    # "and then ..." cannot make the last subject a bare level by itself.
    return None if inherited and atom is not None and atom.bare else atom


def _relation(
    cur: w.Cursor, ctx: Context, subject: dict, partner: dict | None, text: str
) -> Atom | None:
    uses = ctx.uses
    word = cur.text()
    if word in ("golden", "death") and cur.text(1) in w.CROSS:
        # "50/200 SMA golden cross": the pair named, fast over slow.
        cur.i += 2
        direction = "above" if word == "golden" else "below"
        if partner is None:
            return Atom(text, fixed=tpl.golden_cross(uses, direction))
        left, right = tpl.cross_pair(uses, subject, partner, True)
        return Atom(text, fixed=tpl.cross(direction, left, right))
    if word in ("bullish", "bearish") and cur.text(1) in w.CROSS:
        cur.i += 1
        direction = "above" if word == "bullish" else "below"
        return _cross(cur, ctx, subject, partner, text, direction)
    if word in w.CROSS:
        cur.i += 1
        direction = "below" if word == "crossunder" else w.read_direction(cur)
        return _cross(cur, ctx, subject, partner, text, direction)
    if word in w.TURN:
        cur.i += 1
        cur.take("to")
        way = cur.text()
        zero = way in ("positive", "negative") or cur.text(1) == "zero"
        if cur.take("above", "zero") or way in w.BULL:
            return Atom(text, fixed=tpl.turn(uses, subject, "above", zero))
        if cur.take("below", "zero") or way in w.BEAR:
            return Atom(text, fixed=tpl.turn(uses, subject, "below", zero))
        return None
    if (
        word in w.RISING
        or word in w.FALLING
        or (word in ("up", "down") and partner is None)
    ):
        cur.i += 1
        return Atom(text, fixed=tpl.trend(subject, w.trend_way(word), w.read_bars(cur)))
    if word in ("oversold", "overbought"):
        cur.i += 1
        return _extreme(cur, ctx, subject, word, text)
    if word in w.TOUCH:
        cur.i += 1
        level = w.read_operand(cur, ctx)
        return Atom(text, fixed=tpl.touch(uses, level)) if level else None
    if word in w.BREAKOUT or word == "breakdown":
        return _breakout(cur, ctx, subject, text)
    if word in w.FLIP or _direction_change(cur, subject):
        template = tpl.flip(uses, subject)
        return Atom(text, template=template) if template else None
    if word in ("green", "red") and subject.get("type") == "price":
        return Atom(text, fixed=tpl.candle(">" if word == "green" else "<"))
    if word == "between":
        cur.i += 1
        low, high = cur.peek(), cur.peek(1)
        if low and high and low.kind == high.kind == "num":
            cur.i += 2
            return Atom(text, fixed=tpl.between(subject, low.value, high.value))
        return None
    compared = _comparison(cur, ctx, subject, text)
    if compared is not None:
        return compared
    if cur.peek() is None or cur.peek().kind == "word":
        return Atom(text, bare=subject)
    return None


def _direction_change(cur: w.Cursor, subject: dict) -> bool:
    # "direction change", "changes direction", "Supertrend direction changes".
    word, after = cur.text(), cur.text(1)
    if word == "direction":
        return after in w.CHANGE
    is_direction = subject.get("output") == "direction"
    return word in w.CHANGE and (is_direction or after in ("direction", "color"))


def _cross(cur, ctx, subject, partner, text, direction) -> Atom | None:
    target = w.read_operand(cur, ctx)
    left, right = tpl.cross_pair(ctx.uses, subject, partner or target, bool(partner))
    if left is None or left == right:
        return None
    zone = w.read_zone(cur, left)
    if direction is None:
        ctx.last_cross = (left, right, zone) if zone else None
        return Atom(text, template=tpl.cross_with_zone(left, right, zone))
    cross = tpl.cross(direction, left, right)
    return Atom(text, fixed=tpl.all_of([cross, zone]) if zone else cross)


def _comparison(cur: w.Cursor, ctx: Context, subject: dict, text: str) -> Atom | None:
    start = cur.i
    percent = None
    if cur.peek() and cur.peek().kind == "num" and cur.text(1) == "%":
        percent = cur.peek().value
        cur.i += 2
    op = w.read_comparator(cur)
    scale = None
    if cur.peek() and cur.peek().kind == "num" and cur.text(1) in ("x", "times"):
        scale = cur.peek().value
        cur.i += 2
        op = op or ">="
    if op is None:
        cur.i = start
        return None
    target = w.read_operand(cur, ctx)
    if target is None:
        cur.i = start
        return None
    if percent is not None:
        scale = 1 + percent / 100 if op in (">", ">=") else 1 - percent / 100
    if scale is not None:
        if target["type"] == "number" or scale <= 0:
            return None
        target = {**target, "scale": round(scale, 6)}
    return Atom(text, fixed=tpl.compare(op, subject, target))


def _extreme(
    cur: w.Cursor, ctx: Context, subject: dict, word: str, text: str
) -> Atom | None:
    table = OVERSOLD if word == "oversold" else OVERBOUGHT
    kind = tpl.kind_of(ctx.uses, subject)
    level: Any = table.get(kind) if kind else None
    bounce = explicit = False
    while cur.peek() is not None:
        token = cur.peek()
        if token.kind == "num" and not explicit:
            level, explicit = token.value, True
        elif token.text in w.BOUNCE:
            bounce = True
        elif token.kind not in ("word", "op") and token.text not in ("(", ")"):
            break
        cur.i += 1
    if level is None:
        return None
    return Atom(text, fixed=tpl.extreme(subject, word, level, bounce))


def _breakout(cur: w.Cursor, ctx: Context, subject: dict, text: str) -> Atom | None:
    word = cur.text()
    cur.i += 1
    if word in ("breaks", "break") and cur.text() in ("out", "down"):
        word = "breakdown" if cur.text() == "down" else "breakout"
        cur.i += 1
    direction = w.read_direction(cur)
    if word == "breakdown":
        direction = "below"
    target = w.read_operand(cur, ctx)
    if target is not None:
        return Atom(text, fixed=tpl.cross(direction or "above", tpl.CLOSE, target))
    template = tpl.breakout(ctx.uses, subject)
    if template is None:
        return None
    if direction:
        return Atom(text, fixed=template("long" if direction == "above" else "short"))
    return Atom(text, template=template)
