"""deblur_core.bench.estimation: the error ratio, the tables, the cases, and a one-case run on the shared data."""

from __future__ import annotations

import csv
import math

import numpy as np
import pytest

from deblur_core.bench import estimation, stills
from deblur_core.io import save_image
from deblur_core.kernels import motion_kernel


def _row(set_name, image, family, degradation, blurred, true, est, *, fallback=False, ratio="", aligned=""):
    """A measured case as :func:`estimation.measure_case` makes it, with only the numbers the tables read."""
    row = dict.fromkeys(estimation.COLUMNS, "")
    row.update(
        {
            "set": set_name,
            "image": image,
            "family": family,
            "degradation": degradation,
            "height": 40,
            "width": 60,
            "blurred_psnr": blurred,
            "blurred_ssim": 0.5,
            "deconv_true_psnr": true,
            "deconv_true_ssim": 0.8,
            "deconv_est_psnr": est,
            "deconv_est_ssim": 0.6,
            "wiener_true_psnr": "" if true == "" else true - 1,
            "wiener_est_psnr": est - 1,
            "blind_psnr": blurred + 0.5,
            "blind_ssim": 0.55,
            "error_ratio": ratio,
            "error_ratio_aligned": aligned,
            "fallback": fallback,
            "source": "no blur found" if fallback else "estimated",
            "confidence": 0.0 if fallback else 0.7,
            "kernel_size": 1 if fallback else 15,
            "estimate_seconds": 2.0,
        }
    )
    return row


FAKE_ROWS = [
    _row("Set5", "bird", "gaussian", "gaussian sigma=1", 24.0, 28.0, 27.0),
    _row("Set5", "bird", "gaussian", "gaussian sigma=2", 22.0, 26.0, 22.0, fallback=True),
    _row("Set5", "bird", "motion", "motion 11px 0deg", 20.0, 25.0, 19.0),  # 1 dB below its blurred input
    _row("Levin", "im_1", "levin", "levin k1", 23.0, 30.0, 29.0, ratio=1.5, aligned=1.4),
    _row("Levin", "im_1", "levin", "levin k2", 23.0, 30.0, 27.0, ratio=2.0, aligned=2.5),
    _row("Levin", "im_2", "levin", "levin k1", 23.0, 30.0, 26.0, ratio=2.8, aligned=1.9),
    _row("Levin", "im_2", "levin", "levin k2", 23.0, 30.0, 23.0, fallback=True, ratio=5.0, aligned=4.0),
    _row("GoPro", "Flower_blur1", "real", "real camera motion", 25.0, "", 26.0),
]


def test_a_worse_estimate_has_a_larger_error_ratio():
    rng = np.random.default_rng(0)
    sharp = rng.uniform(0.2, 0.8, (24, 24, 3)).astype(np.float32)
    with_true = (sharp + rng.normal(0, 0.01, sharp.shape)).clip(0, 1).astype(np.float32)
    errors = rng.normal(0, 1, sharp.shape)
    ratios = [
        estimation.error_ratio(sharp, (sharp + scale * errors).clip(0, 1).astype(np.float32), with_true)
        for scale in (0.01, 0.02, 0.05)
    ]
    assert ratios[0] < ratios[1] < ratios[2]
    assert estimation.error_ratio(sharp, with_true, with_true) == pytest.approx(1.0)
    assert estimation.ssd(sharp, with_true) == pytest.approx(float(((sharp - with_true) ** 2).sum()), rel=1e-5)
    assert estimation.error_ratio(sharp, with_true, sharp) == math.inf  # the true kernel's result is exact
    with pytest.raises(ValueError):
        estimation.error_ratio(sharp, sharp[:10], with_true)


def test_ratio_shares_count_the_ratios_at_or_below_each_threshold():
    shares = estimation.ratio_shares([1.0, 2.0, 2.5, 3.0, 4.0])
    assert shares == {2.0: pytest.approx(0.4), 3.0: pytest.approx(0.8)}
    assert all(math.isnan(v) for v in estimation.ratio_shares([]).values())


def test_summary_counts_worse_cases_and_fallbacks_per_set_and_family():
    summary = {(e["set"], e["family"]): e for e in estimation.summarise(FAKE_ROWS)}
    assert set(summary) == {
        ("Set5", "gaussian"),
        ("Set5", "motion"),
        ("Set5", "all"),
        ("Levin", "levin"),
        ("GoPro", "real"),
    }
    gauss, every = summary[("Set5", "gaussian")], summary[("Set5", "all")]
    assert gauss["n"] == 2 and gauss["blurred"] == 23.0 and gauss["deconv_est"] == 24.5
    assert gauss["diff"] == pytest.approx(24.5 - 27.0)
    assert (gauss["worse"], gauss["fallbacks"]) == (0, 1)  # a fallback returns its input: not worse
    assert (every["n"], every["worse"], every["fallbacks"]) == (3, 1, 1)
    assert every["deconv_true"] == pytest.approx((28 + 26 + 25) / 3)
    assert (summary[("Levin", "levin")]["worse"], summary[("Levin", "levin")]["fallbacks"]) == (0, 1)
    assert math.isnan(summary[("GoPro", "real")]["deconv_true"])


def test_the_section_has_every_table_with_its_numbers_and_command():
    report = estimation.markdown(FAKE_ROWS, ["set5", "levin", "gopro"], "deblur-unet", 90.0)
    assert report.startswith("## Blind kernel estimation\n")
    assert "Smoke run" not in report
    assert "| Set5 | **all** | 3 | 22.00 | 26.33 | 22.67 | -3.67 |" in report
    assert "| Set5 | gaussian | 2 | 23.00 | 27.00 | 24.50 | -2.50 |" in report
    assert "| im_1 | 1.50 / 1.40 | 2.00 / 2.50 |" in report and "| im_2 | 2.80 / 1.90 | 5.00 / 4.00 |" in report
    assert "As it is: ratio at most 2 on 2 of 4 cases (50 %), at most 3 on 3 (75 %); median 2.40." in report
    assert "Up to a shift: ratio at most 2 on 2 of 4 cases (50 %), at most 3 on 3 (75 %); median 2.20." in report
    assert "| Flower_blur1 | 60 x 40 | 25.00 / 0.500 | 26.00 / 0.600 | 25.50 / 0.550 | estimated, 15 px" in report
    assert "| Set5 | 60 x 40 | 3 | 2.0 | 2.0 |" in report
    assert "`python -m deblur_core.bench.estimation --sets levin --out benchmarks/estimation.md`" in report
    assert "--sets set5,levin,gopro" in report
    smoke = estimation.markdown(FAKE_ROWS[:1], ["set5"], None, 1.0, limit=1)
    assert "Smoke run: at most 1 case(s) per set" in smoke
    assert "error ratio" not in smoke and "GoPro" not in smoke


def test_the_csv_reads_back_into_the_same_tables(tmp_path):
    path = tmp_path / "estimation.csv"
    estimation.write_csv(FAKE_ROWS, path)
    with path.open() as fh:
        read = list(csv.DictReader(fh))
    assert [r["set"] for r in read] == [r["set"] for r in FAKE_ROWS] and list(read[0]) == list(estimation.COLUMNS)
    again = estimation.summarise(read)
    for a, b in zip(estimation.summarise(FAKE_ROWS), again, strict=True):
        assert (a["worse"], a["fallbacks"], a["n"]) == (b["worse"], b["fallbacks"], b["n"])
        assert a["deconv_est"] == pytest.approx(b["deconv_est"])


def test_sets_are_parsed_in_the_benchmarks_order_and_unknown_ones_refused():
    assert estimation.parse_sets("gopro, Levin,set5") == ["set5", "levin", "gopro"]
    with pytest.raises(ValueError, match="set15"):
        estimation.parse_sets("set5,set15")
    with pytest.raises(SystemExit):
        estimation.main(["--sets", "nothing"])


@pytest.fixture()
def tiny_data(tmp_path):
    from skimage import data as skdata

    base = skdata.astronaut().astype(np.float32) / 255.0
    for folder, count in (("val/Set14", 2), ("levin09/sharp", 2)):
        for i in range(count):
            save_image(base[40 * i : 40 * i + 48, 100:148], tmp_path / folder / f"im{i}.png")
    (tmp_path / "levin09" / "kernels").mkdir(parents=True)
    np.save(tmp_path / "levin09" / "kernels" / "kernel_1.npy", motion_kernel(7, 20))
    np.save(tmp_path / "levin09" / "kernels" / "kernel_2.npy", motion_kernel(5, 80))
    return tmp_path


def test_the_cases_are_the_published_benchmarks_own(tiny_data):
    levin = list(estimation.make_cases(tiny_data, "levin"))
    assert [(c.image, c.degradation) for c in levin] == [
        ("im0", "levin k1"),
        ("im0", "levin k2"),
        ("im1", "levin k1"),
        ("im1", "levin k2"),
    ]
    degs = {label: k for _, label, k in stills.degradations(tiny_data)}
    for c in levin:
        assert np.array_equal(c.kernel, degs[c.degradation])
        assert np.array_equal(c.blurred, stills.make_blurred(c.sharp, c.kernel, ("Levin", c.image, c.degradation)))
    set14 = list(estimation.make_cases(tiny_data, "set14"))
    assert len(set14) == estimation.count_cases(tiny_data, "set14") == 2 * (11 + 2)
    assert {c.family for c in set14} == {"gaussian", "defocus", "motion", "levin"}
    assert len(list(estimation.make_cases(tiny_data, "set14", limit=3))) == 3
    assert estimation.count_cases(tiny_data, "levin", limit=3) == 3


def test_missing_data_is_a_clean_skip(tmp_path, capsys):
    assert estimation.main(["--data", str(tmp_path / "nowhere"), "--sets", "levin"]) == 0
    assert "skipped" in capsys.readouterr().err


@pytest.mark.slow
def test_one_levin_case_on_the_shared_data(shared_data, tmp_path, capsys):
    """One real case end to end: the deconvolver, handed the true kernel, must beat the blurred photo."""
    out = tmp_path / "estimation.md"
    code = estimation.main(["--data", str(shared_data), "--limit", "1", "--sets", "levin", "--out", str(out)])
    assert code == 0
    report = out.read_text()
    assert capsys.readouterr().out == report
    assert "| Levin | levin | 1 |" in report and "Up to a shift: ratio at most 2" in report
    with out.with_suffix(".csv").open() as fh:
        (row,) = list(csv.DictReader(fh))
    assert (row["set"], row["image"], row["degradation"]) == ("Levin", "im_1", "levin k1")
    assert float(row["deconv_true_psnr"]) > float(row["blurred_psnr"]) + 2
    assert float(row["error_ratio"]) > 0 and float(row["estimate_seconds"]) > 0
    assert float(row["error_ratio_aligned"]) > 0 and 0 < float(row["ssd_true_aligned"]) < float(row["ssd_true"])
    if row["fallback"] == "True":  # the photo as it is, as the estimating method returns it
        assert float(row["deconv_est_psnr"]) == pytest.approx(float(row["blurred_psnr"]))
