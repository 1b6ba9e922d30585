"""Spec changes between versions, and the unified diff of their code."""

from __future__ import annotations

import pytest

from engine.errors import InvalidRequest
from engine.library.versions import clean_label, code_diff, spec_changes


def test_leaf_changes_have_dotted_paths():
    old = {"risk": {"stop": {"type": "percent", "value": 2}}, "name": "A"}
    new = {"risk": {"stop": {"type": "percent", "value": 1.5}}, "name": "A"}

    assert spec_changes(old, new) == [
        {"path": "risk.stop.value", "op": "changed", "old": 2, "new": 1.5}
    ]


def test_null_and_missing_both_mean_not_set():
    assert spec_changes({"session": None}, {}) == []
    assert spec_changes({"session": None}, {"session": {"a": 1}}) == [
        {"path": "session", "op": "added", "old": None, "new": {"a": 1}}
    ]
    assert spec_changes({"short": {"entry": 1}}, {"short": None}) == [
        {"path": "short", "op": "removed", "old": {"entry": 1}, "new": None}
    ]


def test_lists_of_objects_with_ids_are_matched_by_id():
    old = {"indicators": [{"id": "rsi", "length": 14}, {"id": "ema", "length": 9}]}
    new = {"indicators": [{"id": "sma", "length": 5}, {"id": "rsi", "length": 21}]}

    assert spec_changes(old, new) == [
        {"path": "indicators[rsi].length", "op": "changed", "old": 14, "new": 21},
        {
            "path": "indicators[ema]",
            "op": "removed",
            "old": {"id": "ema", "length": 9},
            "new": None,
        },
        {
            "path": "indicators[sma]",
            "op": "added",
            "old": None,
            "new": {"id": "sma", "length": 5},
        },
    ]


def test_other_lists_are_compared_by_position():
    assert spec_changes({"a": [1, 2, 3]}, {"a": [1, 5]}) == [
        {"path": "a[1]", "op": "changed", "old": 2, "new": 5},
        {"path": "a[2]", "op": "removed", "old": 3, "new": None},
    ]


def test_a_node_of_another_type_is_one_change():
    old = {"entry": {"type": "cross", "direction": "above"}}
    new = {"entry": {"type": "all", "conditions": []}}

    assert spec_changes(old, new) == [
        {"path": "entry", "op": "changed", "old": old["entry"], "new": new["entry"]}
    ]


def test_code_diff_is_unified_and_ends_lines():
    text = code_diff("a\nb\nc", "a\nB\nc", "v1.pine", "v2.pine")

    assert text.splitlines()[:2] == ["--- v1.pine", "+++ v2.pine"]
    assert "-b\n+B\n" in text
    assert text.endswith("\n")
    assert code_diff("same\n", "same\n", "v1", "v2") == ""


@pytest.mark.parametrize(
    "raw, cleaned", [(" live  v2 ", "live v2"), ("rc-1.0_a", "rc-1.0_a")]
)
def test_labels_are_trimmed(raw, cleaned):
    assert clean_label(raw) == cleaned


@pytest.mark.parametrize("raw", ["", "   ", "x" * 41, "a/b", "<b>"])
def test_bad_labels_are_refused(raw):
    with pytest.raises(InvalidRequest) as caught:
        clean_label(raw)

    assert caught.value.code == "INVALID_LABEL"
