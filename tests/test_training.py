"""The training loop's learning-rate schedules."""

from __future__ import annotations

import math

import pytest

from deblur_core.training.config import TrainConfig
from deblur_core.training.fit import cosine_lr, train
from tests.test_cli import make_training_folder


def test_cosine_rate_runs_from_start_to_end():
    assert cosine_lr(0.0, 1e-3, 1e-5) == pytest.approx(1e-3)
    assert cosine_lr(0.5, 1e-3, 1e-5) == pytest.approx((1e-3 + 1e-5) / 2)
    assert cosine_lr(1.0, 1e-3, 1e-5) == pytest.approx(1e-5)
    # Out-of-range fractions (a run that overshoots its budget) stay at the ends.
    assert cosine_lr(1.7, 1e-3, 1e-5) == pytest.approx(1e-5)
    assert cosine_lr(-0.2, 1e-3, 1e-5) == pytest.approx(1e-3)
    rates = [cosine_lr(f / 10, 1e-3, 1e-5) for f in range(11)]
    assert all(a > b for a, b in zip(rates, rates[1:], strict=False)), "the rate only ever goes down"


def test_unknown_schedule_is_refused_before_any_work(tmp_path):
    cfg = TrainConfig(out=str(tmp_path / "m.keras"), data=[str(tmp_path)], schedule="linear")
    with pytest.raises(ValueError, match="schedule"):
        train(cfg)


@pytest.mark.slow
def test_cosine_schedule_decays_the_rate_epoch_by_epoch(tmp_path):
    data = make_training_folder(tmp_path / "data")
    cfg = TrainConfig(
        out=str(tmp_path / "m.keras"),
        arch_args={"base_filters": 4, "depth": 2},
        data=[str(data)],
        patch_size=32,
        batch_size=2,
        epochs=3,
        steps_per_epoch=4,
        val_batches=1,
        learning_rate=1e-3,
        min_lr=1e-5,
        schedule="cosine",
        patience=10,
    )
    result = train(cfg)
    rates = [row["lr"] for row in result.history]
    assert len(rates) == 3
    # The rate seen at the end of epoch e is the one set for its last step: fraction (4e - 1) / 12.
    expected = [cosine_lr((4 * e - 1) / 12, 1e-3, 1e-5) for e in (1, 2, 3)]
    assert rates == pytest.approx(expected, rel=1e-4)
    assert result.model_path.is_file() and math.isfinite(result.best_val_psnr)
