"""A stand-in for ``python -m deblur_core train`` in tests: the same options, the same progress events.

It trains nothing and needs no TensorFlow, so tests of job handling take a fraction of a second.
Its ``--description`` says how to behave:

- ``finish``: one epoch, then save the model and report done;
- ``finish-weak``: the same, but the model scores below its blurred input (its card says so);
- ``error``: report an error and exit 1;
- ``wait``: wait for the stop file, then report that no epoch finished (as the real trainer does);
- ``wait-epoch``: report one epoch, wait for the stop file, then save the model and report done.

Run as a script: ``python tests/fake_trainer.py train --out M.keras --progress P --stop-file S ...``.
"""

import json
import pathlib
import sys
import time


def main(args: list[str]) -> int:
    def opt(name: str) -> str:
        return args[args.index(name) + 1]

    progress, stop, out = (pathlib.Path(opt(n)) for n in ("--progress", "--stop-file", "--out"))
    epochs = int(opt("--epochs"))
    mode = opt("--description")

    def emit(**event) -> None:
        with progress.open("a") as f:
            f.write(json.dumps(event) + "\n")

    weak = mode == "finish-weak"
    val_psnr = 20.5 if weak else 25.0

    def save() -> None:
        out.write_bytes(b"model")
        out.with_suffix(".json").write_text(json.dumps({"validation": {"psnr": val_psnr, "blurred_psnr": 22.0}}))

    def epoch() -> None:
        emit(event="batch", epoch=1, step=1, done=1, total=2 * epochs, loss=0.2, steps_per_s=4.0, eta_s=9.0)
        emit(
            event="epoch",
            epoch=1,
            done=2,
            total=2 * epochs,
            loss=0.1,
            val_loss=0.12,
            val_psnr=val_psnr,
            val_ssim=0.8,
            val_blurred_psnr=22.0,
            eta_s=8.0,
        )

    emit(event="start", pid=0)
    if mode == "error":
        emit(event="error", message="Found 1 image(s) in data; at least two are needed.")
        return 1
    if mode in ("finish", "finish-weak"):
        epoch()
        save()
        emit(event="done", stopped_because="finished all epochs", model=str(out))
        return 0
    if mode == "wait-epoch":
        epoch()
    deadline = time.time() + 60
    while time.time() < deadline:
        if stop.exists():
            if mode == "wait-epoch":
                save()
                emit(event="done", stopped_because="stopped on request", model=str(out))
            else:
                emit(event="error", message="Training stopped before the first epoch finished; no model was saved.")
            return 0
        time.sleep(0.05)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[2:]))
