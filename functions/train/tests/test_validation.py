"""The validation slice: one rule (the last 15% of the train windows, at least one) for every strategy."""

from __future__ import annotations

import pytest

from flts_train.data import DataError, validation_split


@pytest.mark.parametrize(("n", "start"), [(2, 1), (3, 2), (10, 8), (100, 85), (15_888, 13_505), (4_153, 3_530)])
def test_validation_split_holds_out_the_last_windows(n: int, start: int) -> None:
    assert validation_split(n) == start
    assert n - start == max(1, round(0.15 * n))


def test_validation_split_keeps_a_fit_part() -> None:
    assert validation_split(4, fraction=0.9) == 1


@pytest.mark.parametrize("n", [0, 1])
def test_validation_split_refuses_too_few_windows(n: int) -> None:
    with pytest.raises(DataError, match="cannot be split"):
        validation_split(n)
