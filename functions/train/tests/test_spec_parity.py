"""The job-spec parser accepts and refuses what the zod ``TrainerJobSpec`` does (test/fixtures/job-specs.json).

test/unit/job-spec-parity.test.ts reads the same file: a case that one side decides differently fails there or here.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from flts_train.spec import MODEL_TYPES, SpecError, parse_job

CORPUS: dict[str, Any] = json.loads((Path(__file__).resolve().parents[3] / "test" / "fixtures" / "job-specs.json").read_text())
CASES: list[dict[str, Any]] = CORPUS["cases"]


def dotted(field: str) -> str:
    """The corpus' path notation: ``params.targets[0]`` -> ``params.targets.0``, the root ``(root)`` -> ``""``."""
    return "" if field == "(root)" else re.sub(r"\[(\d+)\]", r".\1", field)


def test_model_types_are_the_contracts() -> None:
    assert list(MODEL_TYPES) == CORPUS["model_types"]


def test_the_corpus_has_both_verdicts() -> None:
    assert {c["accepted"] for c in CASES} == {True, False}
    assert all(c["accepted"] or "field" in c for c in CASES)


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_same_verdict_as_zod(case: dict[str, Any]) -> None:
    if case["accepted"]:
        spec = parse_job(case["spec"])
        assert spec.run_id == case["spec"]["run_id"]
        return
    with pytest.raises(SpecError) as info:
        parse_job(case["spec"])
    assert dotted(info.value.field) == case["field"], str(info.value)
