"""A faster way to drive the pynescript grammar, with the stock parser as referee.

pynescript's grammar writes each binary precedence level as
``x: x_rule | y`` with ``x_rule: y (op y)+``, and ``if`` as two alternatives
that differ only after the whole block. ANTLR must scan the full operand or
block before choosing, and it builds new DFA states for every shape it has not
seen: seconds for each new script, and tens of seconds in full LL mode.

Here those decisions are answered by a bracket- and indent-aware look at the
token list instead: is an operator of this level next after the operand, does
``else if`` follow the block, does a postfix suffix continue the primary. The
rest of the grammar keeps ANTLR's own (SLL) prediction.

A wrong guess ends in a syntax error, because the alternatives differ in what
they must consume next, and every syntax error on this path is re-checked by
the stock parser. The tests pin the fast trees to fingerprints of the stock
trees. One divergence is deliberate: the stock parser reads the one-argument
generic call ``array.new<float>(10)`` as ``array.new < float > (10)``; this
path reads it as the call that Pine means.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from antlr4 import CommonTokenStream, InputStream, Token
from antlr4.atn.ATNState import StarLoopEntryState
from antlr4.atn.ParserATNSimulator import ParserATNSimulator
from antlr4.atn.PredictionMode import PredictionMode
from antlr4.error.ErrorStrategy import DefaultErrorStrategy
from pynescript.ast import node as pn
from pynescript.ast.builder import PinescriptASTBuilder
from pynescript.ast.grammar.antlr4.error_listener import PinescriptErrorListener
from pynescript.ast.grammar.antlr4.lexer import PinescriptLexer
from pynescript.ast.grammar.antlr4.parser import PinescriptParser as P

_NAME_TOKENS = {P.NAME, P.TYPE, P.METHOD, P.CONST, P.INPUT, P.SIMPLE, P.SERIES, P.ENUM}
_OPERAND_TOKENS = _NAME_TOKENS | {
    P.NUMBER, P.STRING, P.COLOR, P.TRUE, P.FALSE, P.NOT,
    P.PLUS, P.MINUS, P.STAR, P.SLASH, P.PERCENT, P.DOT,
}  # fmt: skip
_TEMPLATE_TOKENS = _NAME_TOKENS | {P.DOT, P.COMMA, P.LSQB, P.RSQB}

# From the loosest level to the tightest: the rule and the operators that
# make its first alternative apply.
_LEVELS = (
    ("conditional_expression", {P.QUESTION}),
    ("disjunction_expression", {P.OR}),
    ("conjunction_expression", {P.AND}),
    ("equality_expression", {P.EQEQUAL, P.NOTEQUAL}),
    ("inequality_expression", {P.LESS, P.GREATER, P.LESSEQUAL, P.GREATEREQUAL}),
)

# Left-recursive loops: keep looping while the next token continues them.
_LOOPS = (
    ("additive_expression", {P.PLUS, P.MINUS}),
    ("multiplicative_expression", {P.STAR, P.SLASH, P.PERCENT}),
)
_ASSIGN_OPS = {
    P.COLONEQUAL, P.PLUSEQUAL, P.MINEQUAL, P.STAREQUAL, P.SLASHEQUAL, P.PERCENTEQUAL,
}  # fmt: skip

Predictor = Callable[[list[int], int], "int | None"]


def _level(operators: set[int], tighter: set[int]) -> Predictor:
    def predict(types: list[int], i: int) -> int:
        return 1 if _operator_follows(types, i, operators, tighter) else 2

    return predict


def _loop(continuing: set[int]) -> Predictor:
    def predict(types: list[int], i: int) -> int:
        return 1 if types[i] in continuing else 2

    return predict


def _primary_suffix(types: list[int], i: int) -> int | None:
    """Continue ``a.b(c)[d]`` with the suffix at ``i``, or stop before it.

    In ``a.b := 1`` the last ``.b`` belongs to the assignment target rule, so
    the loop must stop before the final suffix when an assignment follows.
    """
    after = _suffix_end(types, i)
    if after is None:
        return 2
    if types[i] in (P.DOT, P.LSQB) and after < len(types):
        last = _suffix_end(types, after) is None
        if last and types[after] in _ASSIGN_OPS:
            return 2
    return 1


def _suffix_end(types: list[int], i: int) -> int | None:
    """Index after the postfix suffix (``.x``, ``(..)``, ``<T>(..)``, ``[..]``) at i."""
    kind = types[i] if i < len(types) else Token.EOF
    if kind == P.DOT:
        return i + 2
    if kind == P.LESS:
        i = _template_end(types, i)
        if i is None:
            return None
        kind = P.LPAR
    if kind not in (P.LPAR, P.LSQB):
        return None
    depth = 0
    for j in range(i, len(types)):
        depth += (types[j] in (P.LPAR, P.LSQB)) - (types[j] in (P.RPAR, P.RSQB))
        if depth == 0:
            return j + 1
    return None


def _optional_else(types: list[int], i: int) -> int:
    return 1 if types[i] == P.ELSE else 2


def _else_if_after_block(skip: int) -> Predictor:
    def predict(types: list[int], i: int) -> int | None:
        end = _block_end(types, i + skip)
        if end is None:
            return None
        follows = types[end + 1 : end + 3] == [P.ELSE, P.IF]
        return 1 if follows else 2

    return predict


def _decision_table() -> dict[int, Predictor]:
    """Map ATN decisions to predictors; a decision we cannot place keeps ANTLR's."""
    by_rule: dict[str, list[tuple[int, object]]] = {}
    for decision, state in enumerate(P.atn.decisionToState):
        by_rule.setdefault(P.ruleNames[state.ruleIndex], []).append((decision, state))

    wanted: dict[str, tuple[type | None, Predictor]] = {
        "if_structure": (None, _else_if_after_block(1)),
        "elif_structure": (None, _else_if_after_block(2)),
        "if_structure_else": (None, _optional_else),
        "elif_structure_else": (None, _optional_else),
    }
    for depth, (rule, operators) in enumerate(_LEVELS):
        tighter = set().union(*(ops for _, ops in _LEVELS[depth + 1 :]))
        wanted[rule] = (None, _level(operators, tighter))
    for rule, continuing in _LOOPS:
        wanted[rule] = (StarLoopEntryState, _loop(continuing))
    wanted["primary_expression"] = (StarLoopEntryState, _primary_suffix)

    table = {}
    for rule, (state_type, predictor) in wanted.items():
        found = [
            decision
            for decision, state in by_rule.get(rule, [])
            if state_type is None or isinstance(state, state_type)
        ]
        if len(found) == 1:
            table[found[0]] = predictor
    return table


class _TokenAwareSimulator(ParserATNSimulator):
    """Stock SLL prediction, except for the decisions in the table."""

    def __init__(self, parser: P, types: list[int], positions: dict[int, int]):
        super().__init__(
            parser, parser.atn, parser.decisionsToDFA, parser.sharedContextCache
        )
        self.predictionMode = PredictionMode.SLL
        self._types = types
        self._positions = positions

    def adaptivePredict(self, input, decision, outerContext):
        predictor = _DECISIONS.get(decision)
        if predictor is not None:
            start = self._positions.get(input.LT(1).tokenIndex)
            if start is not None:
                alt = predictor(self._types, start)
                if alt is not None:
                    return alt
        return super().adaptivePredict(input, decision, outerContext)


def _operator_follows(types: list[int], i: int, operators: set, tighter: set) -> bool:
    """Whether an operator of this level follows the operand starting at ``i``."""
    depth = 0
    while i < len(types):
        kind = types[i]
        if depth:
            depth += (kind in (P.LPAR, P.LSQB)) - (kind in (P.RPAR, P.RSQB))
            if kind == Token.EOF:
                return False
        elif kind in (P.LPAR, P.LSQB):
            depth = 1
        elif kind == P.LESS and (after := _template_end(types, i)) is not None:
            i = after
            continue
        elif kind in operators:
            return True
        elif kind not in _OPERAND_TOKENS and kind not in tighter:
            return False
        i += 1
    return False


def _template_end(types: list[int], i: int) -> int | None:
    """Index of the ``(`` after ``<type, ...>`` starting at ``i``, if it is one."""
    nesting = 0
    for j in range(i, len(types)):
        kind = types[j]
        if kind == P.LESS:
            nesting += 1
        elif kind == P.GREATER:
            nesting -= 1
            if nesting == 0:
                has_call = j + 1 < len(types) and types[j + 1] == P.LPAR
                return j + 1 if has_call else None
        elif kind not in _TEMPLATE_TOKENS:
            return None
    return None


def _block_end(types: list[int], i: int) -> int | None:
    """Index of the DEDENT closing the block after the condition starting at ``i``.

    None when the block is not an indented one, which leaves the choice to ANTLR.
    """
    depth = 0
    while i < len(types) and not (types[i] == P.NEWLINE and depth == 0):
        depth += (types[i] in (P.LPAR, P.LSQB)) - (types[i] in (P.RPAR, P.RSQB))
        i += 1
    if i + 1 >= len(types) or types[i + 1] != P.INDENT:
        return None

    nesting = 0
    for j in range(i + 1, len(types)):
        if types[j] == P.INDENT:
            nesting += 1
        elif types[j] == P.DEDENT:
            nesting -= 1
            if nesting == 0:
                return j
    return None


_DECISIONS = _decision_table()


class _NoSyncStrategy(DefaultErrorStrategy):
    """Skips the per-loop resync: on this path any error is re-parsed anyway."""

    def sync(self, recognizer) -> None:
        return None


def parse_fast(source: str) -> pn.Script:
    """Parse with level-aware prediction; raises pynescript's SyntaxError."""
    lexer = PinescriptLexer(InputStream(source))
    stream = CommonTokenStream(lexer)
    parser = P(stream)
    for recognizer in (lexer, parser):
        recognizer.removeErrorListeners()
        recognizer.addErrorListener(PinescriptErrorListener.INSTANCE)

    stream.fill()
    visible = [t for t in stream.tokens if t.channel == Token.DEFAULT_CHANNEL]
    positions = {token.tokenIndex: k for k, token in enumerate(visible)}
    parser._interp = _TokenAwareSimulator(parser, [t.type for t in visible], positions)
    parser._errHandler = _NoSyncStrategy()
    return PinescriptASTBuilder().visit(parser.start_script())


class ParseTimeout(Exception):
    """The stock parser ran past its time budget."""


class _DeadlineSimulator(ParserATNSimulator):
    """Stock prediction that gives up once a deadline has passed."""

    def __init__(self, parser: P, deadline: float):
        super().__init__(
            parser, parser.atn, parser.decisionsToDFA, parser.sharedContextCache
        )
        self._deadline = deadline

    def adaptivePredict(self, input, decision, outerContext):
        if time.monotonic() > self._deadline:
            raise ParseTimeout
        return super().adaptivePredict(input, decision, outerContext)


def parse_stock(source: str, budget: float | None = None) -> pn.Script:
    """Parse exactly as pynescript does (full LL), without its comment pass.

    With a ``budget`` in seconds, raise ParseTimeout once it is spent: full LL
    prediction can take tens of seconds on a long script it has not seen.
    """
    lexer = PinescriptLexer(InputStream(source))
    parser = P(CommonTokenStream(lexer))
    for recognizer in (lexer, parser):
        recognizer.removeErrorListeners()
        recognizer.addErrorListener(PinescriptErrorListener.INSTANCE)
    if budget is not None:
        parser._interp = _DeadlineSimulator(parser, time.monotonic() + budget)
    return PinescriptASTBuilder().visit(parser.start_script())
