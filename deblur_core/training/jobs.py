"""Training jobs that outlive a web page: a separate process per job, tracked through files.

A job is a folder under the jobs folder (``$DEBLUR_STUDIO_JOBS``, or ``jobs/`` beside the user
model folder) holding ``job.json`` (name, start time, process id, command, status), the trainer's
``progress.jsonl`` (one JSON event per line), the ``stop`` file that asks the trainer to finish
gracefully, ``previews/`` (one validation image per epoch), ``log.txt`` (the process's output) and
``data/`` (the job's private copy of its training images, deleted when the job ends).

The trainer is the command line, ``python -m deblur_core train ...``, run at a lower priority in a
session of its own, so neither a closed browser tab nor a restarted web server stops it. One job
runs at a time per jobs folder: a lock file, created exclusively, names the running job; a lock
left by a process that has died is cleared. Everything here works from the files alone, so any
web server process (or a new one after a restart) sees the same jobs.

Statuses: ``preparing`` (copying data), ``running``, ``stopping`` (stop requested), then one of
``finished``, ``stopped`` or ``failed`` (with a message).
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import deblur_core.restoration  # noqa: F401 - the method catalogue reserves its names, which no model may take
from deblur_core.files import atomic_write_json
from deblur_core.learned.registry import Registry, check_model_name, validate_card
from deblur_core.settings import PROJECT_ROOT, jobs_dir, user_models_dir
from deblur_core.training.config import TrainConfig
from deblur_core.training.progress_file import Progress, read_progress, summarize

ACTIVE = ("preparing", "running", "stopping")
FINAL = ("finished", "stopped", "failed")
KEEP_JOBS = 20  # older finished job folders are pruned when a new job starts

_START_LOCK = threading.Lock()  # one start at a time within this process; the lock file covers the rest
_CHILDREN: dict[int, subprocess.Popen] = {}  # processes started here, polled so they never linger as zombies


class JobRunningError(RuntimeError):
    """A job is already running in this jobs folder; ``.job`` is that job."""

    def __init__(self, job: Job) -> None:
        super().__init__(
            f"A training job is already running: '{job.name}', started {job.started_text}. "
            "Wait for it to finish or stop it first; one job runs at a time."
        )
        self.job = job


@dataclass
class Job:
    """A job folder and its ``job.json``."""

    folder: Path
    info: dict

    @property
    def id(self) -> str:
        return self.folder.name

    @property
    def name(self) -> str:
        return self.info.get("name", self.id)

    @property
    def pid(self) -> int | None:
        pid = self.info.get("pid")
        return int(pid) if pid else None

    @property
    def status(self) -> str:
        return self.info.get("status", "failed")

    @property
    def message(self) -> str:
        return self.info.get("message", "")

    @property
    def started(self) -> _dt.datetime | None:
        try:
            return _dt.datetime.fromisoformat(self.info["started"])
        except (KeyError, TypeError, ValueError):
            return None

    @property
    def started_text(self) -> str:
        started = self.started
        return started.strftime("%Y-%m-%d %H:%M:%S %Z").strip() if started else "at an unknown time"

    @property
    def model_path(self) -> Path:
        return Path(self.info.get("model_path", ""))

    @property
    def progress_path(self) -> Path:
        return self.folder / "progress.jsonl"

    @property
    def stop_path(self) -> Path:
        return self.folder / "stop"

    @property
    def previews_dir(self) -> Path:
        return self.folder / "previews"

    @property
    def data_dir(self) -> Path:
        return self.folder / "data"

    @property
    def log_path(self) -> Path:
        return self.folder / "log.txt"

    @property
    def active(self) -> bool:
        return self.status in ACTIVE

    @property
    def stop_requested(self) -> bool:
        return self.stop_path.exists()

    def save(self) -> None:
        atomic_write_json(self.folder / "job.json", self.info)


# -- reading jobs ------------------------------------------------------------------------------


def load_job(folder: str | Path) -> Job | None:
    """The job in ``folder``, or None if it has no readable ``job.json``."""
    folder = Path(folder)
    try:
        info = json.loads((folder / "job.json").read_text("utf-8"))
    except (OSError, ValueError):
        return None
    return Job(folder, info) if isinstance(info, dict) else None


def list_jobs(root: str | Path | None = None) -> list[Job]:
    """All jobs, newest first, each with its status brought up to date."""
    root = Path(root) if root is not None else jobs_dir()
    if not root.is_dir():
        return []
    jobs = [j for j in (load_job(p) for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")) if j]
    jobs.sort(key=lambda j: (j.info.get("started", ""), j.id), reverse=True)
    return [refresh(j) for j in jobs]


def current_job(root: str | Path | None = None) -> Job | None:
    """The running job (preparing, running or stopping), or None."""
    return next((j for j in list_jobs(root) if j.active), None)


def latest_job(root: str | Path | None = None) -> Job | None:
    """The running job if there is one, otherwise the most recently started one, or None."""
    jobs = list_jobs(root)
    return next((j for j in jobs if j.active), jobs[0] if jobs else None)


def job_progress(job: Job) -> Progress:
    """The job's progress file, summarised (:func:`~deblur_core.training.progress_file.summarize`)."""
    return summarize(read_progress(job.progress_path))


# -- process liveness --------------------------------------------------------------------------


CMDLINE_TRIES = 100
"""How many times (10 ms apart) liveness reads a command line that shows empty before it gives up."""


def _process_alive(pid: int | None, marker: str | None = None) -> bool:
    """Whether ``pid`` runs and (where /proc tells) is the process whose command line has ``marker``."""
    if not pid:
        return False
    child = _CHILDREN.get(pid)
    if child is not None:
        if child.poll() is None:
            return True
        _CHILDREN.pop(pid, None)
        return False
    if os.name == "nt":  # no signal 0 there; os.kill would end the process
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    except OSError:
        return False
    proc = Path("/proc") / str(pid)
    if not proc.is_dir():
        return True
    # A process changing programs (``nice`` becoming the trainer) or exiting shows an empty command line for a
    # moment: read again until it shows one, or has ended.
    for _ in range(CMDLINE_TRIES):
        try:
            state = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
            if state in ("Z", "X"):  # a finished child nobody has collected yet
                return False
            if not marker:
                return True
            cmdline = (proc / "cmdline").read_bytes()
        except (OSError, IndexError):
            return False
        if cmdline:
            return marker in cmdline.replace(b"\0", b" ").decode("utf-8", "replace")  # not a recycled process id
        time.sleep(0.01)
    return False


def _job_alive(job: Job) -> bool:
    if job.status == "preparing":
        preparer = job.info.get("preparer_pid")
        started = job.info.get("prepare_started", 0)
        return bool(preparer) and _process_alive(int(preparer)) and time.time() - float(started) < 3600
    return _process_alive(job.pid, str(job.folder))


# -- status ------------------------------------------------------------------------------------


def refresh(job: Job) -> Job:
    """Bring the job's status up to date from its process and progress file.

    A job whose process has ended is given its final status (finished, stopped or failed with a
    message) once, saved in ``job.json``; its private data folder is then deleted and the lock
    released.
    """
    if job.status in FINAL:
        return job
    if _job_alive(job):
        wanted = "stopping" if job.stop_requested and job.status == "running" else job.status
        if wanted != job.status:
            job.info["status"] = wanted
            job.save()
        return job
    # Re-read: another server process may have finished this job meanwhile.
    fresh = load_job(job.folder) or job
    if fresh.status in FINAL:
        return fresh
    job = fresh
    progress = job_progress(job)
    stop_requested = job.stop_requested
    if job.status == "preparing":
        status, message = "failed", "The job was interrupted while its training data was being prepared."
    elif progress.done is not None:
        why = str(progress.done.get("stopped_because", ""))
        status = "stopped" if stop_requested or "stopped" in why else "finished"
        message = f"Training ended: {why}." if why else "Training finished."
        if not _model_complete(job.model_path):
            status, message = (
                "failed",
                f"Training reported success, but the model file {job.model_path.name} is missing.",
            )
    elif progress.error is not None:
        text = str(progress.error.get("message") or progress.error.get("error") or "unknown error")
        status = "stopped" if stop_requested else "failed"
        message = text
    else:
        status = "stopped" if stop_requested else "failed"
        message = "The training process ended without reporting why (it was killed or crashed)."
        tail = _log_tail(job.log_path)
        if tail:
            message += f" Its last output: {tail}"
    job.info.update(status=status, message=message, ended=_now())
    job.save()
    shutil.rmtree(job.data_dir, ignore_errors=True)
    _release_lock(job.folder.parent, job.id)
    return job


def _model_complete(path: Path) -> bool:
    return path.is_file() and path.with_suffix(".json").is_file()


_LOG_NOISE = re.compile(r"^([IWE]\d{4} |WARNING: All log messages|To enable the following instructions)")


def _log_tail(path: Path, lines: int = 3) -> str:
    """The last few meaningful lines of the process's output (TensorFlow's start-up chatter left out)."""
    try:
        text = path.read_text("utf-8", "replace").strip().splitlines()
    except OSError:
        return ""
    useful = [line.strip() for line in text if line.strip() and not _LOG_NOISE.match(line.strip())]
    return " | ".join(useful[-lines:])[-500:]


def _now() -> str:
    return _dt.datetime.now().astimezone().isoformat(timespec="seconds")


# -- the lock ----------------------------------------------------------------------------------


def _lock_path(root: Path) -> Path:
    return root / ".lock"


def _lock_owner(root: Path) -> str | None:
    """The id of the job named in the lock file, if it is readable."""
    try:
        holder = json.loads(_lock_path(root).read_text("utf-8")).get("job", "")
    except (OSError, ValueError, AttributeError):
        return None
    return holder if isinstance(holder, str) and holder and "/" not in holder and holder not in (".", "..") else None


def _lock_holder(root: Path) -> Job | None:
    owner = _lock_owner(root)
    return load_job(root / owner) if owner else None


def _acquire_lock(root: Path, job_id: str) -> None:
    """Create the lock file exclusively; a lock whose job is no longer alive is cleared first."""
    lock = _lock_path(root)
    for _ in range(5):
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        except FileExistsError:
            holder = _lock_holder(root)
            if holder is not None:
                holder = refresh(holder)
                if holder.active:
                    raise JobRunningError(holder) from None
            elif time.time() - _mtime(lock) < 5:
                time.sleep(0.2)  # a lock being written right now
                continue
            lock.unlink(missing_ok=True)  # stale: its job has ended or never got going
            continue
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump({"job": job_id, "server_pid": os.getpid(), "created": time.time()}, handle)
        return
    raise ValueError(f"Could not take the training lock {lock}; delete that file if no training is running.")


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def _release_lock(root: Path, job_id: str) -> None:
    if _lock_owner(root) == job_id:
        _lock_path(root).unlink(missing_ok=True)


# -- starting and stopping ---------------------------------------------------------------------


def _job_id(name: str) -> str:
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    return f"{stamp}-{re.sub(r'[^A-Za-z0-9_.-]', '_', name)[:64]}"


def _prune(root: Path, keep: int) -> None:
    finished = [j for j in list_jobs(root) if not j.active]
    for job in finished[keep:]:
        shutil.rmtree(job.folder, ignore_errors=True)


def start_job(
    name: str,
    config: TrainConfig,
    prepare: Callable[[Path], tuple[list[str], list[str]]] | None = None,
    *,
    root: str | Path | None = None,
    models_dir: str | Path | None = None,
) -> Job:
    """Start a training job as a separate, lower-priority process: ``python -m deblur_core train``.

    Parameters
    ----------
    name : str
        The model's name: the result is ``NAME.keras`` + ``NAME.json`` in ``models_dir``.
    config : TrainConfig
        What to train (its ``out`` is set by the job).
    prepare : callable, optional
        ``prepare(data_dir) -> (data_folders, paired_folders)``: writes the job's training data into
        its private ``data_dir`` (created owner-only) and returns the folders to train on, which
        replace ``config.data`` and ``config.paired``.
    root : str or Path, optional
        The jobs folder; :func:`deblur_core.settings.jobs_dir` by default.
    models_dir : str or Path, optional
        Where the model is saved; the user model folder by default.

    Returns
    -------
    Job
        The started job (status ``running``).

    Raises
    ------
    JobRunningError
        Another job is running; the message names it and its start time.
    ValueError
        The name is not usable or taken, the architecture or its arguments are unknown, or
        ``prepare`` refused the data.
    """
    models_dir = Path(models_dir) if models_dir is not None else user_models_dir()
    root = Path(root) if root is not None else jobs_dir()
    _check_new_job(name, config, models_dir, root)
    config = replace(config, out=str(models_dir / f"{name}.keras"))
    with _START_LOCK:
        job_id = _job_id(name)
        while (root / job_id).exists():
            job_id += "_"
        _acquire_lock(root, job_id)
        folder = root / job_id
        try:
            job = _new_job(folder, name, config)
            if prepare is not None:
                job.data_dir.mkdir(mode=0o700)
                data, paired = prepare(job.data_dir)
                config = replace(config, data=list(data), paired=list(paired))
            if not config.data and not config.paired:
                raise ValueError("Choose some training data.")
            _run_trainer(job, config)
        except BaseException as exc:
            shutil.rmtree(folder, ignore_errors=True)
            _release_lock(root, job_id)
            if isinstance(exc, OSError):
                raise ValueError(f"The training process could not be started: {exc}") from exc
            raise
    with contextlib.suppress(OSError):  # pruning old folders is housekeeping; it must not hide the started job
        _prune(root, KEEP_JOBS)
    return job


def _check_new_job(name: str, config: TrainConfig, models_dir: Path, root: Path) -> None:
    """Refuse an unusable or taken name and an unknown architecture; create the folders."""
    check_model_name(name)
    registry = Registry(user_dir=models_dir)
    if name in registry.names() or (models_dir / f"{name}.keras").exists():
        raise ValueError(f"A model called '{name}' already exists; choose another name.")
    validate_card({"architecture": config.arch, "arch_args": config.arch_args})
    for folder in (root, models_dir):
        try:
            folder.mkdir(parents=True, exist_ok=True, mode=0o700 if folder == root else 0o777)
        except OSError as exc:
            raise ValueError(f"The folder {folder} cannot be created ({exc.strerror or exc}).") from None


def _new_job(folder: Path, name: str, config: TrainConfig) -> Job:
    """The job's private folder and its ``job.json``, status ``preparing``."""
    folder.mkdir(mode=0o700)
    (folder / "previews").mkdir()
    job = Job(
        folder,
        {
            "id": folder.name,
            "name": name,
            "started": _now(),
            "status": "preparing",
            "preparer_pid": os.getpid(),
            "prepare_started": time.time(),
            "model_path": config.out,
            "config": asdict(config),
        },
    )
    job.save()
    return job


def _run_trainer(job: Job, config: TrainConfig) -> None:
    """Launch the trainer, the same command line a user can run, and record it in ``job.json``."""
    command = [
        sys.executable,
        "-m",
        "deblur_core",
        "train",
        *config.to_args(),
        "--progress",
        str(job.progress_path),
        "--stop-file",
        str(job.stop_path),
        "--preview-dir",
        str(job.previews_dir),
    ]
    job.info["command"] = command
    job.info["config"] = asdict(config)
    process = _launch(command, job.log_path)
    job.info.update(pid=process.pid, status="running")
    job.save()


def _launch(command: list[str], log_path: Path) -> subprocess.Popen:
    """Start ``command`` at low priority in its own session, output appended to ``log_path``."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(PROJECT_ROOT), *filter(None, [env.get("PYTHONPATH")])])
    env.setdefault("PYTHONUNBUFFERED", "1")
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    kwargs: dict = {}
    if os.name == "nt":
        kwargs["creationflags"] = subprocess.BELOW_NORMAL_PRIORITY_CLASS | subprocess.CREATE_NEW_PROCESS_GROUP
    else:
        kwargs["start_new_session"] = True  # the job survives the web server and its signals
        nice = shutil.which("nice")
        if nice:
            command = [nice, "-n", "10", *command]  # nice execs the trainer, so the process id stays the same
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            command, cwd=PROJECT_ROOT, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, **kwargs
        )
    if os.name != "nt" and not shutil.which("nice"):
        with contextlib.suppress(OSError):  # a lower priority is a courtesy; the job runs either way
            os.setpriority(os.PRIO_PROCESS, process.pid, 10)
    _CHILDREN[process.pid] = process
    return process


def stop_job(job: Job) -> Job:
    """Ask a running job to stop: it finishes the current batch and saves its best checkpoint.

    If no epoch has finished yet there is nothing to save; the job then ends as ``stopped`` with
    a message saying so.
    """
    if job.status in FINAL:
        return job
    job.stop_path.write_text(_now() + "\n", "utf-8")
    return refresh(job)


def kill_job(job: Job, sig: int = signal.SIGTERM) -> Job:
    """End a job's process group at once (no checkpoint is saved beyond the last finished epoch)."""
    if job.pid and _job_alive(job) and os.name != "nt":
        with contextlib.suppress(OSError):
            os.killpg(job.pid, sig)
    deadline = time.monotonic() + 10
    while _job_alive(job) and time.monotonic() < deadline:
        time.sleep(0.1)
    return refresh(job)
