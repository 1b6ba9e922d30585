"""Representative specs render exactly to their reviewed scripts in tests/golden/.

After an intended template change, rewrite the expected scripts with
`PINEFORGE_UPDATE_GOLDEN=1 pytest tests/unit/test_golden.py` and review the diff.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from engine.render import render_strategy
from engine.spec import parse_spec
from tests.render_helpers import check_script

GOLDEN_DIR = Path(__file__).resolve().parent.parent / "golden"
CASES = sorted(path.stem for path in GOLDEN_DIR.glob("*.json"))
UPDATE = os.environ.get("PINEFORGE_UPDATE_GOLDEN") == "1"


def render_case(name: str) -> str:
    spec = parse_spec((GOLDEN_DIR / f"{name}.json").read_text(encoding="utf-8"))
    return render_strategy(spec)


def test_there_are_golden_cases():
    assert len(CASES) >= 4


@pytest.mark.parametrize("name", CASES)
def test_rendered_script_matches_its_golden_file(name):
    code = render_case(name)
    expected = GOLDEN_DIR / f"{name}.pine"
    if UPDATE:
        expected.write_bytes(code.encode("utf-8"))
    assert expected.exists(), (
        f"run with PINEFORGE_UPDATE_GOLDEN=1 to create {name}.pine"
    )
    assert code == expected.read_bytes().decode("utf-8")


@pytest.mark.parametrize("name", CASES)
def test_golden_script_is_clean(name):
    check_script((GOLDEN_DIR / f"{name}.pine").read_text(encoding="utf-8"))
