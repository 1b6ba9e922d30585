"""Taking the spec out of model answers: fences, chatter, broken JSON."""

from __future__ import annotations

import json

from engine.extract import extract_spec, find_json_object
from tests.fakes.llm_server import INVALID_SPEC, SAMPLE_SPEC

SPEC_JSON = json.dumps(SAMPLE_SPEC)


def test_a_bare_json_answer_gives_the_spec():
    extraction = extract_spec(SPEC_JSON)

    assert extraction.ok and extraction.spec.name == SAMPLE_SPEC["name"]
    assert extraction.errors == []


def test_json_inside_a_code_fence_and_chatter_is_found():
    answer = f"Sure! Here it is:\n```json\n{SPEC_JSON}\n```\nEnjoy {{the}} profits."

    assert extract_spec(answer).ok


def test_braces_in_prose_before_the_json_are_skipped():
    answer = "Use {fast} and {slow} averages; also { unclosed. " + SPEC_JSON

    assert find_json_object(answer) == SPEC_JSON


def test_braces_inside_json_strings_do_not_end_the_object():
    spec = {**SAMPLE_SPEC, "description": 'Close "}" and open "{" braces \\ too'}

    extraction = extract_spec("answer: " + json.dumps(spec))

    assert extraction.ok and extraction.spec.description.startswith("Close")


def test_a_schema_invalid_answer_lists_where_and_what():
    extraction = extract_spec(json.dumps(INVALID_SPEC))

    assert not extraction.ok
    assert extraction.errors == [
        "indicators.0: Value error, unknown indicator kind 'relative_vigor_x'"
    ]
    assert json.loads(extraction.json_text) == INVALID_SPEC


def test_an_object_nested_in_broken_json_is_not_taken_for_the_answer():
    broken = SPEC_JSON[:-1] + ",}"

    extraction = extract_spec(broken)

    assert extraction.json_text is None
    assert extraction.errors[0].startswith("the answer's JSON does not parse")


def test_an_answer_without_json_says_so():
    assert extract_spec("I cannot help with that.").errors == [
        "the answer holds no JSON object"
    ]
    assert find_json_object("[1, 2, 3]") is None
