"""Tokens of one clause, with output words bound to their indicator.

"MACD histogram", "upper Keltner channel" and "%K" become one indicator
reference each; an output word on its own ("the lower band", "kijun") refers
to the nearest indicator of a matching kind, before it if any, else after it.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from engine.composer.lexicon import IMPLIED_KIND, OUTPUT_WORDS, PRICE_WORDS
from engine.composer.uses import Uses


@dataclass
class Tok:
    """One token: kind is ref, out, price, num, op, pct, word, punct or operand."""

    kind: str
    value: Any
    text: str


MAX_NUMBER = 1_000_000_000
_OUTS = [(re.compile(pattern), outputs) for pattern, outputs in OUTPUT_WORDS]
_TOKEN = re.compile(
    r"(?P<ref>\{\d+\})"
    r"|(?P<arrow>->|=>)"
    r"|(?P<op>>=|<=|==|>|<|=)"
    r"|(?<![\w%+-])(?P<out>" + "|".join(p for p, _ in OUTPUT_WORDS) + r")(?![\w])"
    r"|(?P<num>(?:(?<![\w.)\]])-)?(?:\d+(?:\.\d+)?|\.\d+)(?![a-wyz\d]))"
    r"|(?P<pct>%)"
    r"|(?<![\w])(?P<price>" + "|".join(p for p, _ in PRICE_WORDS) + r")(?![\w])"
    r"|(?P<word>[a-z]+(?:'[a-z]+)?)"
    r"|(?P<punct>[/&(),\[\]])"
)


def tokenize(piece: str, refs: list[tuple[str | None, str | None]]) -> list[Tok]:
    """Tokens of a clause; `refs[n]` is the (use id, output) of placeholder n."""
    tokens = []
    for match in _TOKEN.finditer(piece):
        group = match.lastgroup
        text = match.group(0)
        if group == "ref":
            uid, output = refs[int(text[1:-1])]
            tokens.append(Tok("ref", (uid, output), text))
        elif group == "out":
            outputs = next(o for p, o in _OUTS if p.fullmatch(text))
            tokens.append(Tok("out", outputs, text))
        elif group == "price":
            source = next(s for p, s in PRICE_WORDS if re.fullmatch(p, text))
            tokens.append(Tok("price", source, text))
        elif group == "num":
            value = float(text)
            # Beyond the spec's number range a "number" is noise, not a level.
            readable = math.isfinite(value) and abs(value) <= MAX_NUMBER
            tokens.append(Tok("num" if readable else "word", value, text))
        elif group == "op":
            tokens.append(Tok("op", "=" if text == "==" else text, text))
        else:
            tokens.append(Tok(group or "word", text, text))
    return tokens


class RefHistory:
    """Indicator references seen so far in the request, newest last."""

    def __init__(self, uses: Uses) -> None:
        self.uses = uses
        self.seen: list[str] = []

    def latest(self, kinds: set[str]) -> str | None:
        """The most recent reference to any of these kinds."""
        for uid in reversed(self.seen):
            if self.uses.kind(uid) in kinds:
                return uid
        return None


def _neighbour(tokens: list[Tok], index: int, step: int) -> int | None:
    at = index + step
    while 0 <= at < len(tokens) and tokens[at].text in ("the", "of"):
        at += step
    return at if 0 <= at < len(tokens) else None


def bind_outputs(tokens: list[Tok], history: RefHistory) -> list[Tok]:
    """Attach output words to indicator refs; resolve lone output words."""
    uses = history.uses
    result: list[Tok] = []
    skip: set[int] = set()
    for index, token in enumerate(tokens):
        if index in skip:
            continue
        if token.kind != "out":
            result.append(token)
            if token.kind == "ref" and token.value[0]:
                history.seen.append(token.value[0])
            continue
        outputs: dict[str, str] = token.value
        bound = False
        for step in (-1, 1):
            at = _neighbour(tokens, index, step)
            if at is None or tokens[at].kind != "ref" or not tokens[at].value[0]:
                continue
            uid, output = tokens[at].value
            if output is None and uses.kind(uid) in outputs:
                tokens[at].value = (uid, outputs[uses.kind(uid)])
                tokens[at].text = f"{tokens[at].text} {token.text}"
                bound = True
                break
        if bound:
            continue
        uid = _lone_output_use(tokens, index, history)
        if uid is None:
            result.append(token)
            continue
        output = outputs[uses.kind(uid)]
        history.seen.append(uid)
        result.append(Tok("ref", (uid, output), token.text))
    return result


def _lone_output_use(tokens: list[Tok], index: int, history: RefHistory) -> str | None:
    outputs: dict[str, str] = tokens[index].value
    kinds = set(outputs)
    uid = history.latest(kinds)
    if uid is not None:
        return uid
    for later in tokens[index + 1 :]:
        uid = later.value[0] if later.kind == "ref" else None
        if uid and history.uses.kind(uid) in kinds:
            return uid
    known = history.uses.of_kind(*kinds)
    if known:
        return known[0]
    # "tenkan crosses above kijun" names Ichimoku without saying so; "%K
    # crosses %D" names the Stochastic.
    implied = {IMPLIED_KIND.get(o) for o in outputs.values()} - {None}
    if "k" in outputs.values() or "d" in outputs.values():
        implied = {"stoch"}
    if len(implied) == 1:
        return history.uses.add(implied.pop(), {}, None)
    return None
