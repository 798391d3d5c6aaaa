"""The setup files agree with each other: pinned requirements, Docker image, Streamlit config, README, CI."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]


def _requirement_lines(name: str) -> list[str]:
    """Requirement lines of a requirements file, without comments, blanks and ``-r`` includes."""
    lines = []
    for raw in (ROOT / name).read_text(encoding="utf-8").splitlines():
        line = raw.split(" #", 1)[0].strip()
        if line and not line.startswith(("#", "-r ", "--requirement")):
            lines.append(line)
    return lines


def _pins(name: str) -> dict[str, Version]:
    """Package name (lower case) -> pinned version."""
    pins = {}
    for line in _requirement_lines(name):
        req = Requirement(line)
        (spec,) = req.specifier
        pins[req.name.lower()] = Version(spec.version)
    return pins


@pytest.mark.parametrize("name", ["requirements.txt", "requirements-dev.txt"])
def test_every_requirement_is_pinned_exactly(name):
    lines = _requirement_lines(name)
    assert lines, f"{name} lists no packages"
    for line in lines:
        req = Requirement(line)  # raises on a malformed line
        specs = list(req.specifier)
        assert len(specs) == 1 and specs[0].operator == "==", f"{name}: '{line}' is not pinned with =="
        assert "*" not in specs[0].version, f"{name}: '{line}' pins a wildcard"


def test_runtime_pins_meet_the_minimum_versions():
    pins = _pins("requirements.txt")
    assert pins["keras"] >= Version("3.15.1")
    assert pins["pillow"] >= Version("12.3")


def test_opencv_is_the_headless_build():
    names = {Requirement(line).name.lower() for line in _requirement_lines("requirements.txt")}
    assert "opencv-python-headless" in names
    # The GUI builds drag in libGL and clash with the headless one over the cv2 module.
    assert not names & {"opencv-python", "opencv-contrib-python"}


def test_tensorflow_is_pinned_once_for_every_platform():
    reqs = [Requirement(line) for line in _requirement_lines("requirements.txt")]
    tf = [r for r in reqs if r.name.lower() in {"tensorflow", "tensorflow-cpu"}]
    assert len({next(iter(r.specifier)).version for r in tf}) == 1, "CPU and standard builds pin different versions"
    environments = [
        {"sys_platform": "linux", "platform_machine": "x86_64"},
        {"sys_platform": "linux", "platform_machine": "aarch64"},
        {"sys_platform": "darwin", "platform_machine": "arm64"},
        {"sys_platform": "win32", "platform_machine": "AMD64"},
    ]
    for env in environments:
        chosen = [r.name for r in tf if r.marker is None or r.marker.evaluate(env)]
        assert len(chosen) == 1, f"TensorFlow requirement for {env}: {chosen}"


def test_python_requirement_matches_the_ruff_target():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    minimum = re.fullmatch(r">=\s*3\.(\d+)", pyproject["project"]["requires-python"])
    assert minimum, "requires-python should read '>=3.N'"
    assert pyproject["tool"]["ruff"]["target-version"] == f"py3{minimum.group(1)}"
    assert {"slow", "browser", "app"} <= {
        m.split(":")[0] for m in pyproject["tool"]["pytest"]["ini_options"]["markers"]
    }


def _dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with continuation lines joined and comments dropped."""
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    text = re.sub(r"\\\n", " ", text)
    pairs = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            pairs.append((keyword.upper(), rest.strip()))
    return pairs


def test_dockerfile_serves_the_app_on_8501_as_an_ordinary_user():
    instructions = _dockerfile_instructions()
    by_keyword: dict[str, list[str]] = {}
    for keyword, rest in instructions:
        by_keyword.setdefault(keyword, []).append(rest)

    assert by_keyword["FROM"][0].startswith("python:3.11-slim")
    assert by_keyword["EXPOSE"] == ["8501"]
    (healthcheck,) = by_keyword["HEALTHCHECK"]
    assert "/_stcore/health" in healthcheck and "8501" in healthcheck
    assert any("curl" in run for run in by_keyword["RUN"]), "the health check needs curl installed"

    (entrypoint,) = by_keyword["ENTRYPOINT"]
    assert "studio.serve" in entrypoint and "--server.port=8501" in entrypoint and "0.0.0.0" in entrypoint

    # requirements.txt is copied and installed before the rest of the project (a cached layer).
    keywords = [k for k, _ in instructions]
    copy_req = next(i for i, (k, r) in enumerate(instructions) if k == "COPY" and r.startswith("requirements.txt"))
    install = next(i for i, (k, r) in enumerate(instructions) if k == "RUN" and "-r requirements.txt" in r)
    copy_all = next(i for i, (k, r) in enumerate(instructions) if k == "COPY" and r.startswith(". "))
    assert copy_req < install < copy_all

    # The last USER before the entry point is not root.
    users = [i for i, k in enumerate(keywords) if k == "USER"]
    assert users, "the container must not run as root"
    user = instructions[users[-1]][1]
    assert user not in {"root", "0"} and not user.startswith(("root:", "0:"))
    assert users[-1] < keywords.index("ENTRYPOINT")


def test_dockerignore_keeps_local_state_out():
    ignored = {
        line.strip().rstrip("/")
        for line in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert {".venv", ".git", "runs"} <= ignored


def test_streamlit_config_is_private_and_allows_large_uploads():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert config["browser"]["gatherUsageStats"] is False
    assert isinstance(config["server"]["maxUploadSize"], int) and config["server"]["maxUploadSize"] >= 200
    assert config["server"]["headless"] is True
    # Only options Streamlit knows: a misspelt one is silently ignored.
    from streamlit import config as st_config

    known = set(st_config.get_config_options())

    def option_names(table: dict, prefix: str = ""):
        for key, value in table.items():
            if isinstance(value, dict):  # a section, or a subsection such as [theme.sidebar]
                yield from option_names(value, f"{prefix}{key}.")
            else:
                yield f"{prefix}{key}"

    for name in option_names(config):
        assert name in known, f"unknown Streamlit option {name}"


def test_readme_opens_with_the_two_commands():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    first_block = re.search(r"```[^\n]*\n(.*?)```", readme, re.DOTALL)
    assert first_block, "README.md has no code block"
    commands = [line.split("#")[0].strip() for line in first_block.group(1).splitlines()]
    assert commands == ["make run", "make test"]
    # Nothing but the title and one description line before the commands.
    before = [line for line in readme[: first_block.start()].splitlines() if line.strip()]
    assert len(before) == 2 and before[0].startswith("# ")


def test_makefile_has_the_documented_targets():
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    targets = set(re.findall(r"^([a-z][a-z-]*):", makefile, re.MULTILINE))
    assert {"run", "test", "bench", "lint", "format", "clean"} <= targets
    assert re.search(r"^PYTHON \?= python3$", makefile, re.MULTILINE)


def test_ci_script_installs_chromium_and_runs_make_test():
    script_path = ROOT / ".ci" / "run"
    script = script_path.read_text(encoding="utf-8")
    assert script.startswith("#!/usr/bin/env bash\n")
    assert "set -euo pipefail" in script
    assert re.search(r"^make test$", script, re.MULTILINE)
    assert "chromium" in script and "apt-get install" in script
    assert script_path.stat().st_mode & 0o111, ".ci/run must be executable"
