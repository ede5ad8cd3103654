"""The yearly yield shown to delegators: only for epochs long enough to annualise."""

from __future__ import annotations

import pytest

from backend.sdk.staking import MIN_ANNUALISED_EPOCH_SECONDS, SECONDS_PER_YEAR, annualised


def test_hour_long_epochs_are_annualised_without_compounding() -> None:
    per_epoch = 0.0001
    assert annualised(per_epoch, 3600) == pytest.approx(per_epoch * SECONDS_PER_YEAR / 3600)
    assert annualised(per_epoch, 86_400) == pytest.approx(per_epoch * 365)


def test_devnet_epochs_get_no_yearly_figure() -> None:
    # 0.01 % per 60 s epoch would read as 52.56 % a year: not a number to show anyone
    assert annualised(0.0001, 60) is None
    assert annualised(0.0001, MIN_ANNUALISED_EPOCH_SECONDS - 1) is None


def test_no_reward_means_no_yield() -> None:
    assert annualised(None, 86_400) is None
