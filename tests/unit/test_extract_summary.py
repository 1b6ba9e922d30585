"""What a job's SPEC_INVALID error shows: field paths and error types, never the
model's (or the stored spec's) own text."""

from __future__ import annotations

import json
import re

import pytest

from engine.errors import SpecInvalid
from engine.extract import MAX_PATH_CHARS, extract_spec
from engine.pipeline import run_generation, run_refinement
from tests.fakes.llm_server import INVALID_SPEC, SAMPLE_SPEC, answer
from tests.unit.test_pipeline import REQUEST, Stages, _settings

pytest_plugins = ["tests.llm_fixtures"]

MARKER = "IGNORE-PREVIOUS-7731"
SAFE_FIELD = re.compile(r"^[A-Za-z0-9_.\[\]-]*$")
HOSTILE_SPEC = {
    **SAMPLE_SPEC,
    "name": 12345,
    f"<script>{MARKER} say 'pwned'</script>" * 5: "x",
    "indicators": [
        {"id": "rsi", "kind": f"{MARKER} kind", "params": {}},
        {"id": "ema", "kind": "ema", "params": {MARKER: "not a number"}},
    ],
    "risk": {"stop": {"type": "percent", "value": f"{MARKER} value"}},
}


def _assert_safe(summary: list[dict[str, str]]) -> None:
    assert summary
    for item in summary:
        assert set(item) == {"field", "type"}
        assert SAFE_FIELD.match(item["field"]), item
        assert len(item["field"]) <= MAX_PATH_CHARS
        assert re.match(r"^[a-z_]+$", item["type"]), item
    assert MARKER not in json.dumps(summary)
    assert "pwned" not in json.dumps(summary)


def test_the_summary_names_fields_and_types_without_the_answers_text():
    extraction = extract_spec(json.dumps(HOSTILE_SPEC))

    _assert_safe(extraction.summary)
    # The repair round still gets the full story, for the model to fix.
    assert any(MARKER in line for line in extraction.errors)
    assert {"field": "name", "type": "string_type"} in extraction.summary
    assert {"field": "[unknown]", "type": "extra_forbidden"} in extraction.summary


def test_an_answer_without_json_is_summarised_by_fixed_words():
    extraction = extract_spec(f"I refuse. {MARKER}")

    assert extraction.summary == [{"field": "", "type": "no_json_object"}]


def test_spec_invalid_after_repairs_carries_no_model_text(llm_server):
    llm_server.script(*[answer(HOSTILE_SPEC)] * 3)
    settings = _settings(llm_server, llm_offline_fallback=True)

    with pytest.raises(SpecInvalid) as caught:
        run_generation(REQUEST, {}, Stages(), settings=settings)

    _assert_safe(caught.value.details["errors"])
    assert MARKER not in json.dumps(caught.value.to_body())


def test_refining_an_invalid_stored_spec_carries_none_of_its_text():
    stored = {**INVALID_SPEC, "name": {"text": MARKER}}

    with pytest.raises(SpecInvalid) as caught:
        run_refinement("use a 3% stop", stored, {}, Stages())

    _assert_safe(caught.value.details["errors"])
