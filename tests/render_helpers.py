"""A check shared by the render tests: a script must validate and parse."""

from __future__ import annotations

from pynescript import ast as pn

from engine.validate import validate_script
from engine.validate.parser import parse_script


def check_script(code: str) -> pn.Script:
    """Require a clean `validate_script` report; return the parsed tree."""
    report = validate_script(code)
    assert report.ok, "\n".join(str(issue) for issue in report.errors)
    tree, error = parse_script(code)  # the validator's own (fast) parse
    assert tree is not None, error
    return tree
