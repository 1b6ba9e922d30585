"""Clauses and their roles, and reading the conditions a clause holds.

The request is cut into clauses at sentence marks, commas and at a new
"... and exit when". Each clause gets a role from its markers: a prefix
("buy when", "go short on", "exit at", "sell if") or a suffix ("-> long",
"to go short", "for longs", "as trend filter"). A clause without a marker
continues the one before it in the same sentence, or is a plain entry rule.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from engine.composer import templates as tpl
from engine.composer.conditions import Atom, AtomError, Context, read_atom
from engine.composer.lexicon import ENTRY_EXAMPLE, SUPPORTED_EXAMPLES
from engine.composer.mirror import mirror, mirror_level
from engine.composer.tokens import RefHistory, Tok, bind_outputs, tokenize
from engine.errors import ComposeError

SIDES = ("long", "short")
_CONJ = r"(?:when(?:ever)?|if|once|on|at|after|as\s+soon\s+as|upon|only\s+(?:when|if))"
_NOUN = (
    r"(?:\s+(?:entry|entries|trades?|positions?|signals?|pullbacks?|setups?|dips?))?"
)
_PREFIXES = (
    (
        "exit",
        "long",
        r"(?:exit|close|sell|get\s+out\s+of|flatten)\s+(?:the\s+|all\s+|my\s+|any\s+)?"
        r"longs?(?:\s+(?:positions?|trades?))?",
    ),
    (
        "exit",
        "short",
        r"(?:(?:exit|close|get\s+out\s+of|flatten)\s+(?:the\s+|all\s+|my\s+|any\s+)?"
        r"shorts?(?:\s+(?:positions?|trades?))?|buy\s+to\s+cover|cover(?:\s+shorts?)?)",
    ),
    (
        "exit",
        None,
        r"(?:exit(?:\s+(?:the\s+)?(?:position|trade))?|close\s+(?:the\s+|all\s+|my\s+)?"
        r"(?:positions?|trades?)|close\s+out|get\s+out|flatten|take\s+profits?)",
    ),
    (
        "entry",
        "short",
        r"(?:sell\s+short|short\s+sell|go\s+short|enter\s+(?:a\s+)?short"
        r"|open\s+(?:a\s+)?short|shorts?)" + _NOUN,
    ),
    (
        "entry",
        "long",
        r"(?:buy|go\s+long|enter\s+(?:a\s+)?long|open\s+(?:a\s+)?long|longs?)" + _NOUN,
    ),
    ("sell", None, r"sell"),
    ("entry", None, r"(?:enter|entry|entries|open\s+(?:a\s+)?(?:trade|position))"),
)
_LEAD = r"^\s*(?:(?:and|then|but|also|so|&)\s+)*"
_PREFIX_RES = [
    (role, side, re.compile(_LEAD + "(?:" + p + r")(?:\s+(?P<conj>" + _CONJ + r"))?\b"))
    for role, side, p in _PREFIXES
]
_MID_SPLIT = re.compile(
    r"(?:\s+(?:and|then|but|or|&))?\s+(?=(?:"
    + "|".join(p for _, _, p in _PREFIXES)
    + r")\s+"
    + _CONJ
    + r"(?![\w]))"
)
_SUFFIX = re.compile(
    r"(?:(?:->|=>)\s*(?:go\s+)?(?P<arrow>long|short|buy|sell|exit|close|flat|entry|enter"
    r"|entries)(?:\s+(?:entry|entries|exit|position|signal))?"
    r"|\bto\s+(?:go\s+|get\s+)?(?P<to>long|short|buy|sell|exit|enter)"
    r"(?:\s+(?:entry|a\s+position|positions?|trades?))?"
    r"|\bto\s+(?:close|exit)\s+(?:the\s+)?(?P<close>longs?|shorts?|positions?|trades?)"
    r"|\bfor\s+(?:the\s+)?(?P<for>long\s+entr(?:y|ies)|short\s+entr(?:y|ies)"
    r"|long\s+exits?|short\s+exits?|longs?|shorts?|entr(?:y|ies)|exits?)"
    r"|\b(?:as\s+(?:an?\s+|the\s+|my\s+)?)?(?:(?:up|down)?trend\s+)?(?P<filter>filters?)"
    r"|\bas\s+(?:an?\s+|the\s+)?(?P<as>entry|entries|exit|exits)(?:\s+signals?)?"
    r"|(?<=\s)(?P<bare>longs?|shorts?))\s*$"
)
_SUFFIX_ROLES = {
    "long": ("entry", "long"),
    "buy": ("entry", "long"),
    "longs": ("entry", "long"),
    "long entry": ("entry", "long"),
    "long entries": ("entry", "long"),
    "short": ("entry", "short"),
    "shorts": ("entry", "short"),
    "short entry": ("entry", "short"),
    "short entries": ("entry", "short"),
    "sell": ("sell", None),
    "long exit": ("exit", "long"),
    "long exits": ("exit", "long"),
    "short exit": ("exit", "short"),
    "short exits": ("exit", "short"),
}


@dataclass
class Clause:
    """One clause: text (with placeholders), role, side, and whether marked."""

    text: str
    role: str
    side: str | None
    marked: bool
    at_level: bool = False  # "exit at ...", "buy on ...": a bare level is a rule


def _marker(piece: str) -> tuple[str | None, str | None, str, bool]:
    for role, side, pattern in _PREFIX_RES:
        match = pattern.match(piece)
        if match:
            at_level = match["conj"] in ("at", "on", "upon")
            return role, side, piece[match.end() :].strip(), at_level
    role, side, rest = _suffix_marker(piece)
    return role, side, rest, role == "filter"


def _suffix_marker(piece: str) -> tuple[str | None, str | None, str]:
    match = _SUFFIX.search(piece)
    if match:
        word = " ".join(
            (match.lastgroup and match.group(match.lastgroup) or "").split()
        )
        rest = piece[: match.start()].strip()
        if match.lastgroup == "filter":
            return "filter", None, rest
        if word in _SUFFIX_ROLES:
            role, side = _SUFFIX_ROLES[word]
            return role, side, rest
        if word in ("exit", "exits", "close", "flat", "position", "positions", "trade"):
            return "exit", None, rest
        if word in ("long", "longs", "short", "shorts") and match.lastgroup == "close":
            return "exit", word.rstrip("s"), rest
        return "entry", None, rest
    return None, None, piece


def split_clauses(text: str) -> list[Clause]:
    """Cut the request (placeholders in) into clauses with roles."""
    clauses: list[Clause] = []
    pending: tuple[str, str | None] | None = None
    for sentence in re.split(r"\.(?=\s|$)|(?<!\d)\.(?!\d)|[;:!?\n]", text):
        inherited: tuple[str, str | None] | None = None
        for chunk in sentence.split(","):
            # One space between words keeps the split below linear.
            for piece in _MID_SPLIT.split(" ".join(chunk.split())):
                piece = piece.strip()
                if not piece:
                    continue
                role, side, rest, at_level = _marker(piece)
                marked = role is not None
                if role is None and (pending or inherited):
                    role, side = pending or inherited
                    marked = True
                if not rest:
                    pending = (role, side) if role else pending
                    continue
                pending = None
                if marked:
                    inherited = (role, side)
                clauses.append(Clause(rest, role or "entry", side, marked, at_level))
    return clauses


# --------------------------------------------------------------------- rules


def read_groups(clause: Clause, refs: list, ctx: Context, history: RefHistory) -> list:
    """The clause's atoms: a list of "or" branches, each a list of "and" atoms."""
    tokens = bind_outputs(tokenize(clause.text, refs), history)
    tokens = _join_pairs(tokens)
    groups: list[list[Atom]] = []
    for branch in _split(tokens, {"or"}):
        atoms = [read_atom(part, ctx) for part in _split(branch, _AND)]
        atoms = [atom for atom in atoms if atom is not None]
        if atoms:
            groups.append(atoms)
    return groups


_AND = {"and", "while", "with", "plus", "&", "but", "whilst"}


def _split(tokens: list[Tok], words: set[str]) -> list[list[Tok]]:
    parts: list[list[Tok]] = [[]]
    for token in tokens:
        if token.text in words and token.kind in ("word", "punct"):
            parts.append([])
        else:
            parts[-1].append(token)
    return [part for part in parts if part]


def _join_pairs(tokens: list[Tok]) -> list[Tok]:
    # "between 20 and 80" is one relation; "EMA 9 and EMA 21 cross" one pair
    # (only when the first reference opens its condition).
    joined = list(tokens)
    opened = 0
    for i in range(1, len(joined) - 1):
        before, token, after = joined[i - 1], joined[i], joined[i + 1]
        if token.text in _AND and token.kind == "word":
            opens_here = all(t.kind == "word" for t in joined[opened : i - 1])
            if before.kind == "num" and i >= 2 and joined[i - 2].text == "between":
                joined[i] = Tok("punct", ",", ",")
                continue
            crosses = i + 2 < len(joined) and joined[i + 2].text.startswith("cross")
            if before.kind == after.kind == "ref" and opens_here and crosses:
                joined[i] = Tok("punct", "/", "/")
                continue
            opened = i + 1
    return [t for t in joined if t.text != ","]


def realise(groups: list[list[Atom]], side: str, natural: str, clause: Clause, uses):
    """The clause as a condition for `side`; `natural` is the side it was
    written for. None where a rule has no version for this side."""
    role = clause.role
    branches = []
    for atoms in groups:
        parts = []
        for atom in atoms:
            if atom.template is not None:
                parts.append(atom.template(side))
            elif atom.bare is not None:
                # "exit on 10 bar low" for longs is "on 10 bar high" for shorts.
                level = atom.bare if side == natural else mirror_level(uses, atom.bare)
                template = tpl.at_level(uses, level, role)
                if template is None or not clause.at_level:
                    raise AtomError(atom.text, True)
                parts.append(template(side))
            elif side == natural:
                parts.append(atom.fixed)
            else:
                parts.append(mirror(uses, atom.fixed))
        if None in parts:
            return None
        branches.append(tpl.all_of(parts))
    return tpl.any_of(branches)


def refusal(error: AtomError, words: Callable[[str], str]) -> ComposeError:
    """The coded error for an unreadable rule, quoting the user's words."""
    fragment = words(error.text)
    if error.known:
        return ComposeError(
            "REQUEST_TOO_VAGUE",
            f"I could not read the rule '{fragment}'. Say it as a condition, "
            f"e.g. '{ENTRY_EXAMPLE}'.",
            {"text": fragment},
        )
    return ComposeError(
        "NO_SUPPORTED_RULE",
        f"'{fragment}' is not an indicator or price rule I know. Supported "
        f"indicators include {SUPPORTED_EXAMPLES}.",
        {"text": fragment},
    )
