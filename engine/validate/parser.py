"""The pynescript parser behind a lock, turning every failure into an issue.

Scripts go through the fast prediction path first (see ``prediction``); only a
script that fails there is parsed again by the stock parser, whose verdict and
message are reported unless it runs past ``STOCK_PARSE_BUDGET``, in which case
the fast path's own error stands.
"""

from __future__ import annotations

import logging
import threading

from pynescript.ast import node as pn
from pynescript.ast.error import SyntaxError as PineSyntaxError

from .prediction import ParseTimeout, parse_fast, parse_stock
from .report import LintIssue

logger = logging.getLogger(__name__)

# The ANTLR runtime grows shared DFA caches while it parses, so one parse at a
# time per process; a parse takes milliseconds once the caches are warm.
_lock = threading.Lock()
_warm = False

#: Seconds the stock parser may spend re-checking a script the fast path rejected.
STOCK_PARSE_BUDGET = 3.0

# Exercises the grammar's main paths so the first real script parses fast.
_WARM_UP_SCRIPT = """//@version=6
strategy("Warm", overlay=true, default_qty_type=strategy.percent_of_equity)
import user/lib/1 as lib
type Point
    float price = na
    int index = 0
enum Side
    buy = "Buy"
    sell
method double(Point self) =>
    self.price * 2
f(float src, int len = 14) =>
    [ta.sma(src, len), ta.ema(src, len)]
length = input.int(14, "Length", minval=1)
var float level = na
varip int ticks = 0
series float x = close
array<float> values = array.new<float>(3, 0.0)
m = map.new<string, float>()
[fast, slow] = f(close, length)
[a, b, c] = ta.macd(close, 12, 26, 9)
htf = request.security(syminfo.tickerid, "D", close[1], lookahead=barmerge.lookahead_on)
cond = close > open and not (high < low) or close >= 1.5
y = cond ? -close : na
level := nz(level[1]) + 1
ticks += 1
if cond
    strategy.entry("L", strategy.long)
else if close < open
    strategy.close("L")
else
    level := 0.0
for i = 0 to 10 by 2
    values.push(i * 1.0)
for [i, v] in values
    continue
while ticks > 100
    break
s = switch length
    14 => "a"
    => "b"
t = switch
    cond => 1
    => 2
plot(x, "X", color=color.new(color.red, 50), style=plot.style_line)
plotshape(cond, "C", shape.triangleup, location.belowbar, #00ff00)
"""


def warm_parser() -> None:
    """Build the parser's caches once per process; later calls return at once."""
    global _warm
    if _warm:
        return
    with _lock:
        if _warm:
            return
        try:
            parse_fast(_WARM_UP_SCRIPT)
        except Exception:  # a broken warm-up must not stop the service
            logger.exception("pynescript warm-up failed")
        _warm = True


def parse_script(code: str) -> tuple[pn.Script | None, LintIssue | None]:
    """Parse Pine source; return the tree, or None and a SYNTAX_ERROR issue."""
    try:
        with _lock:
            tree = _parse_checked(code)
    except PineSyntaxError as exc:
        details = getattr(exc, "details", None)
        line = getattr(details, "lineno", None)
        return None, LintIssue("SYNTAX_ERROR", _clean(exc.message), line)
    except RecursionError:
        return None, LintIssue("SYNTAX_ERROR", "expression nested too deeply to parse")
    except Exception as exc:  # the parser's own bugs surface as a coded issue
        logger.warning("pynescript failed: %s", type(exc).__name__)
        return None, LintIssue("SYNTAX_ERROR", f"parser failed ({type(exc).__name__})")
    return tree, None


def _parse_checked(code: str) -> pn.Script:
    try:
        return parse_fast(code)
    except PineSyntaxError as fast_error:
        try:
            return parse_stock(code, budget=STOCK_PARSE_BUDGET)
        except ParseTimeout:
            # Past the budget the fast path's own verdict stands: it has matched
            # the stock parser on every valid script we have compared.
            raise fast_error from None


def _clean(message: str) -> str:
    # ANTLR messages embed raw newlines and token names; one readable line.
    return " ".join(str(message).replace("<NEWLINE>", "end of line").split())
