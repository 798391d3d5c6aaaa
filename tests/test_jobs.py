"""Training jobs: one at a time, files that survive the web server, honest statuses, nothing half-saved.

Most tests replace the trainer with ``fake_trainer.py`` (same options, same progress events), so
they take a fraction of a second; one starts the real trainer and kills it halfway.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from deblur_core import settings
from deblur_core.io import save_image
from deblur_core.training import jobs
from deblur_core.training.config import TrainConfig, degradations_from
from deblur_core.training.progress_file import read_progress, summarize
from deblur_core.training.samples import SAMPLE_IMAGES, write_sample_images

FAKE_TRAINER = Path(__file__).with_name("fake_trainer.py")  # same options and events, no TensorFlow


@pytest.fixture
def folders(tmp_path, monkeypatch):
    models, root = tmp_path / "models", tmp_path / "jobs"
    monkeypatch.setenv("DEBLUR_STUDIO_MODELS", str(models))
    monkeypatch.setenv(settings.JOBS_ENV, str(root))
    return models, root


@pytest.fixture
def fake_trainer(monkeypatch):
    real_launch = jobs._launch

    def launch(command, log_path):
        train_args = command[command.index("train") + 1 :]
        return real_launch([sys.executable, str(FAKE_TRAINER), "train", *train_args], log_path)

    monkeypatch.setattr(jobs, "_launch", launch)


def _images(folder: Path, count: int = 4, size: int = 64) -> tuple[list[str], list[str]]:
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        blocks = rng.random((size // 8, size // 8, 3))
        save_image(np.kron(blocks, np.ones((8, 8, 1))).astype(np.float32), folder / f"img{i}.png")
    return [str(folder)], []


def _wait(job: jobs.Job, until, timeout: float = 30.0) -> jobs.Job:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = jobs.refresh(job)
        if until(job):
            return job
        time.sleep(0.1)
    raise AssertionError(f"job did not reach the expected state in {timeout} s: {job.info}\n{job.log_path.read_text()}")


def test_job_options_are_the_command_lines_options(tmp_path):
    from deblur_core.cli import build_parser
    from deblur_core.cli.train import build_train_config, parse_arch_args

    folders = [tmp_path / "a", tmp_path / "b"]
    for folder in folders:
        folder.mkdir()
    config = TrainConfig(
        out=str(tmp_path / "m.keras"),
        arch="unet",
        arch_args={"base_filters": 8, "depth": 2},
        data=[str(f) for f in folders],
        loss="l1",
        patch_size=48,
        batch_size=3,
        learning_rate=2e-4,
        epochs=7,
        steps_per_epoch=11,
        minutes=2.5,
        degradations=degradations_from(["motion", "shake"], noise_max=0.01, p_clean=0.2, jpeg_prob=0.3),
        seed=5,
        description="two words",
    )
    args = build_parser().parse_args(["train", *config.to_args()])
    assert build_train_config(args) == config, "the command line gives the same configuration back"
    assert parse_arch_args(args.arch_arg) == {"base_filters": 8, "depth": 2}
    assert (args.data, args.paired, args.out) == ([str(f) for f in folders], [], str(tmp_path / "m.keras"))
    assert (args.loss, args.patch_size, args.batch_size, args.lr) == ("l1", 48, 3, 2e-4)
    assert (args.epochs, args.steps_per_epoch, args.minutes, args.seed) == (7, 11, 2.5, 5)
    assert (args.families, args.noise_max, args.p_clean, args.jpeg_prob) == ("motion,shake", 0.01, 0.2, 0.3)
    # One set of defaults: a configuration of defaults is the command line's defaults.
    defaults = build_parser().parse_args(["train", "--arch", "unet", "--data", str(folders[0]), "--out", "x.keras"])
    assert build_train_config(defaults) == TrainConfig(out="x.keras", data=[str(folders[0])])
    assert args.description == "two words"


def test_progress_reading_tolerates_a_half_written_line(tmp_path):
    job = jobs.Job(tmp_path, {"name": "x"})
    with job.progress_path.open("w") as f:
        f.write('{"event": "start"}\nnot json\n{"event": "epoch", "epoch": 1, "val_psnr": 20.5}\n{"event": "ep')
    events = read_progress(job.progress_path)
    assert [e["event"] for e in events] == ["start", "epoch"]
    with job.progress_path.open("a") as f:  # the writer finishes the line, then adds another
        f.write('och", "epoch": 2, "val_psnr": 21.0}\n{"event": "preview", "epoch": 2, "path": "p.png"}\n')
    progress = summarize(read_progress(job.progress_path))
    assert [e["epoch"] for e in progress.epochs] == [1, 2]
    assert progress.epochs[-1]["val_psnr"] == 21.0
    assert list(progress.previews) == [2]
    job.progress_path.write_text('{"event": "start"}\n')  # a replaced file is read from its start
    assert [e["event"] for e in read_progress(job.progress_path)] == ["start"]


def test_speed_and_time_left_come_from_the_reports():
    events = [
        {"event": "start", "time": 100.0},
        {"event": "batch", "time": 130.0, "done": 1, "total": 100, "steps_per_s": 0.05},  # start-up is slow
        {"event": "epoch", "time": 140.0, "done": 10, "total": 100, "epoch": 1},
    ]
    progress = summarize(events)
    assert progress.steps_per_s == pytest.approx(9 / 10)
    assert progress.eta_s == pytest.approx(90 / 0.9)
    assert progress.fraction == pytest.approx(0.1)
    # Reports older than a minute no longer count.
    progress = summarize([*events, {"event": "epoch", "time": 220.0, "done": 30, "total": 100, "epoch": 3}])
    assert progress.steps_per_s == pytest.approx(20 / 80)
    # One report only: the trainer's own figure.
    assert summarize(events[:2]).steps_per_s == 0.05
    assert summarize([*events, {"event": "done"}]).eta_s == 0.0


def test_finished_job_leaves_its_model_and_releases_the_lock(folders, fake_trainer, tmp_path):
    models, root = folders
    job = jobs.start_job("fin", TrainConfig(description="finish"), lambda d: _images(d))
    assert job.pid
    job = _wait(job, lambda j: not j.active)
    assert job.status == "finished", job.message
    assert (models / "fin.keras").is_file() and (models / "fin.json").is_file()
    assert not (root / ".lock").exists()
    assert not job.data_dir.exists()  # the private copy of the training data is gone
    assert jobs.current_job() is None
    assert jobs.latest_job().id == job.id
    assert json.loads((job.folder / "job.json").read_text())["status"] == "finished"


def test_second_start_is_refused_naming_the_running_job(folders, fake_trainer):
    first = jobs.start_job("first", TrainConfig(description="wait"), lambda d: _images(d))
    try:
        assert first.status == "running"
        assert json.loads((settings.jobs_dir() / ".lock").read_text())["job"] == first.id
        with pytest.raises(jobs.JobRunningError, match=r"'first', started \d{4}-\d\d-\d\d \d\d:\d\d") as info:
            jobs.start_job("second", TrainConfig(description="wait"), lambda d: _images(d))
        assert info.value.job.id == first.id
        assert jobs.current_job().id == first.id
        assert [j.name for j in jobs.list_jobs()] == ["first"]  # the refused job left nothing behind
    finally:
        jobs.kill_job(first)


def test_stop_before_the_first_epoch_says_no_model_was_saved(folders, fake_trainer):
    models, _ = folders
    job = jobs.start_job("early", TrainConfig(description="wait"), lambda d: _images(d))
    job = jobs.stop_job(job)
    assert job.status in ("stopping", "stopped")
    job = _wait(job, lambda j: not j.active)
    assert job.status == "stopped"
    assert "no model was saved" in job.message
    assert not (models / "early.keras").exists()


def test_stop_after_an_epoch_keeps_the_model(folders, fake_trainer):
    models, _ = folders
    job = jobs.start_job("later", TrainConfig(description="wait-epoch"), lambda d: _images(d))
    job = _wait(jobs.stop_job(job), lambda j: not j.active)
    assert job.status == "stopped"
    assert (models / "later.keras").is_file()


def test_trainer_error_is_reported_as_failed_with_its_message(folders, fake_trainer):
    job = jobs.start_job("bad", TrainConfig(description="error"), lambda d: _images(d))
    job = _wait(job, lambda j: not j.active)
    assert job.status == "failed"
    assert "at least two are needed" in job.message


def test_stale_lock_of_a_dead_process_is_cleared(folders, fake_trainer):
    _, root = folders
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    ghost = root / "20000101-000000-ghost"
    ghost.mkdir(parents=True)
    (ghost / "job.json").write_text(
        json.dumps({"name": "ghost", "started": "2000-01-01T00:00:00+00:00", "status": "running", "pid": dead.pid})
    )
    (root / ".lock").write_text(json.dumps({"job": ghost.name}))
    job = jobs.start_job("fresh", TrainConfig(description="finish"), lambda d: _images(d))
    _wait(job, lambda j: not j.active)
    old = jobs.load_job(ghost)
    assert old.status == "failed" and "killed or crashed" in old.message


@pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="needs /proc to tell processes apart")
def test_a_restarted_server_still_sees_the_job_and_is_not_fooled_by_a_reused_pid(folders, fake_trainer, monkeypatch):
    _, root = folders
    job = jobs.start_job("survivor", TrainConfig(description="wait"), lambda d: _images(d))
    try:
        # A real restart takes far longer than the trainer's exec; wait for it, or a loaded machine can show
        # the not-yet-exec'd child with the test runner's command line, which rightly reads as "not the job".
        cmdline = Path("/proc") / str(job.pid) / "cmdline"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                if str(job.folder).encode() in cmdline.read_bytes():
                    break
            time.sleep(0.05)
        monkeypatch.setattr(jobs, "_CHILDREN", {})  # a new server process knows only the files
        found = jobs.current_job()
        log = job.log_path
        assert found is not None and found.id == job.id, (
            f"no running job seen; the job reads {jobs.refresh(job).status!r}, its process "
            f"{'exists' if cmdline.exists() else 'is gone'}; log: {log.read_text()[-500:] if log.exists() else '-'}"
        )
        # A job whose recorded process id now belongs to another program has ended.
        other = root / "20000101-000000-reused"
        other.mkdir()
        info = {"name": "reused", "started": "2000-01-01T00:00:00+00:00", "status": "running", "pid": os.getpid()}
        (other / "job.json").write_text(json.dumps(info))
        assert jobs.refresh(jobs.load_job(other)).status == "failed"
    finally:
        jobs.kill_job(job)
    assert jobs.refresh(job).status == "failed"  # killed without a word: said plainly


def test_refused_data_releases_the_lock(folders, fake_trainer):
    _, root = folders

    def refuse(_data_dir):
        raise ValueError("The archive holds 0 usable image(s).")

    with pytest.raises(ValueError, match="0 usable"):
        jobs.start_job("nodata", TrainConfig(), refuse)
    assert not (root / ".lock").exists()
    assert jobs.list_jobs() == []


def test_names_are_checked_before_anything_starts(folders, fake_trainer):
    models, _ = folders
    models.mkdir(parents=True)
    (models / "taken.keras").write_bytes(b"x")
    with pytest.raises(ValueError, match="already exists"):
        jobs.start_job("taken", TrainConfig(), lambda d: _images(d))
    with pytest.raises(ValueError, match="reserved"):
        jobs.start_job("wiener", TrainConfig(), lambda d: _images(d))
    with pytest.raises(ValueError, match="not a usable model name"):
        jobs.start_job("../up", TrainConfig(), lambda d: _images(d))
    with pytest.raises(ValueError, match="architecture"):
        jobs.start_job("odd", TrainConfig(arch="transformer"), lambda d: _images(d))


def test_sample_images_need_no_download(tmp_path):
    count = write_sample_images(tmp_path / "samples")
    assert count == len(SAMPLE_IMAGES)
    assert len(list((tmp_path / "samples").iterdir())) == count


@pytest.mark.slow
def test_killed_training_leaves_the_registry_readable_and_old_models_intact(folders, tmp_path):
    """A real trainer, killed with SIGKILL after it has saved a checkpoint and while it trains on."""
    from deblur_core.learned.architectures import build
    from deblur_core.learned.registry import Registry, save_model
    from deblur_core.restoration import restore_image

    models, root = folders
    existing = save_model(
        build("unet", base_filters=4, depth=2),
        models / "existing.keras",
        {"architecture": "unet", "arch_args": {"base_filters": 4, "depth": 2}},
    )
    before = existing.read_bytes(), existing.with_suffix(".json").read_bytes()
    config = TrainConfig(
        arch_args={"base_filters": 4, "depth": 2},
        patch_size=32,
        batch_size=2,
        epochs=200,
        steps_per_epoch=3,
        degradations=degradations_from(["gaussian"]),
    )
    job = jobs.start_job("victim", config, lambda d: _images(d))
    job = _wait(job, lambda j: bool(jobs.job_progress(j).epochs) or not j.active, timeout=240)
    assert job.active, f"training ended early: {job.message}"
    os.killpg(job.pid, signal.SIGKILL)
    job = _wait(job, lambda j: not j.active)

    assert job.status == "failed" and "killed" in job.message
    assert not (root / ".lock").exists()
    registry = Registry(shipped_dir=tmp_path / "no-shipped", user_dir=models)
    assert registry.names() == ["existing"]
    assert registry.problems == []
    assert (existing.read_bytes(), existing.with_suffix(".json").read_bytes()) == before
    image = np.full((24, 24, 3), 0.5, np.float32)
    assert restore_image(image, "existing", registry=registry).shape == image.shape
    assert not (models / "victim.keras").exists()
    # Whatever the trainer left (its hidden checkpoint) is hidden from the registry.
    assert all(p.name.startswith(".") for p in models.iterdir() if "victim" in p.name)


@pytest.mark.skipif(not Path("/proc/self/cmdline").exists() or not shutil.which("nice"), reason="needs /proc and nice")
def test_a_job_changing_programs_still_counts_as_running(monkeypatch):
    """``nice`` execs the trainer; while the exec runs, /proc shows an empty command line for a moment. A server that
    reads it then (as Stop does) must not take the job for ended."""
    monkeypatch.setattr(jobs, "_CHILDREN", {})  # as a server that did not start the job sees it
    marker = "job-folder-marker"
    misses = 0
    for _ in range(10):
        child = subprocess.Popen(
            ["nice", "-n", "10", sys.executable, "-c", "import time; time.sleep(0.3)", marker], start_new_session=True
        )
        try:
            deadline = time.monotonic() + 0.15  # well before the child's sleep ends
            while time.monotonic() < deadline:
                misses += not jobs._process_alive(child.pid, marker)
        finally:
            child.wait()
        assert not jobs._process_alive(child.pid, marker)  # reaped: gone
    assert misses == 0, f"{misses} readings said the starting job had ended"
