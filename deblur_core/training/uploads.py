"""Training data from a zip archive, checked before a single file reaches the disk.

A visitor's zip is inspected in memory first (:func:`inspect_zip`): it is refused outright for path
tricks (absolute names, ``..``, drive letters, symbolic links), for zip bombs (too many members, too
many bytes once uncompressed, a suspicious compression ratio) and for images too large to train on.
Every image member is decoded with :func:`deblur_core.io.load_image`; members that are not usable
images are skipped and named in the report. The layout is detected: plain sharp images (degraded on
the fly during training) or a paired layout, ``sharp/`` + ``defocused_blurred/`` + ``motion_blurred/``
(names ending ``_S``, ``_F``, ``_M``) or ``good_frames/`` + ``bad_frames/``.

:func:`extract_zip` then writes only the checked images, under sanitised names, into a folder the
caller owns (a training job's private folder): the training process reads its data from disk.
"""

from __future__ import annotations

import hashlib
import re
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from deblur_core.io.archive import (
    MAX_RATIO,
    UnsafeZipError,
    check_member,
    check_ratio,
    is_junk,
    open_archive,
    read_member,
)
from deblur_core.io.decode import ALLOWED_TEXT, IMAGE_SUFFIXES
from deblur_core.progress import ProgressFn

KAGGLE_FOLDERS = ("sharp", "defocused_blurred", "motion_blurred")
FRAME_FOLDERS = ("good_frames", "bad_frames")
_KAGGLE_SUFFIX = re.compile(r"_(S|F|M)$", re.IGNORECASE)
_SAFE_PART = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.+()-]{0,119}$")


@dataclass(frozen=True)
class ZipLimits:
    """What an uploaded training archive may hold.

    The pixel budget matters because the trainer keeps every image in memory as float32 (12 bytes
    per pixel): 100 megapixels are about 1.2 GB.
    """

    max_members: int = 5000
    max_total_bytes: int = 1024**3  # uncompressed, all members together
    max_member_bytes: int = 64 * 1024**2
    max_ratio: float = MAX_RATIO  # uncompressed / compressed size, per member and overall
    max_total_pixels: int = 100_000_000
    max_image_pixels: int = 24_000_000
    min_images: int = 2


@dataclass
class ZipReport:
    """What an archive holds, after every check.

    Attributes
    ----------
    layout : str
        ``"sharp"`` (images degraded on the fly), ``"kaggle"`` (sharp/ + *_blurred/) or ``"frames"``
        (good_frames/ + bad_frames/).
    root : str
        The folder inside the archive that holds the paired layout (``""`` for the top level).
    images : dict
        Member name -> the sanitised relative path it is written to.
    skipped : list of (str, str)
        Members left out and why, one sentence each.
    pairs : int
        Blurred/sharp pairs found (paired layouts only).
    pixels : int
        Total pixel count of the accepted images.
    digest : str
        SHA-256 of the archive, so extraction can trust this report only for the same bytes.
    """

    layout: str
    root: str
    images: dict[str, str]
    skipped: list[tuple[str, str]] = field(default_factory=list)
    pairs: int = 0
    pixels: int = 0
    digest: str = ""

    @property
    def paired(self) -> bool:
        return self.layout != "sharp"

    def describe(self) -> str:
        """One sentence for the user."""
        if self.layout == "kaggle":
            what = f"{self.pairs} blurred/sharp pairs (sharp/ + defocused_blurred/ + motion_blurred/)"
        elif self.layout == "frames":
            what = f"{self.pairs} blurred/sharp pairs (good_frames/ + bad_frames/)"
        else:
            what = f"{len(self.images)} sharp images, blurred on the fly during training"
        extra = f"; {len(self.skipped)} file(s) skipped" if self.skipped else ""
        return f"{what}, {self.pixels / 1e6:.1f} megapixels in all{extra}."


def _safe_relative(path: PurePosixPath) -> str:
    """A file name safe on any file system: odd characters become '_'."""
    parts = []
    for part in path.parts:
        clean = re.sub(r"[^A-Za-z0-9 _.+()-]", "_", part).lstrip(".") or "_"
        parts.append(clean[-120:] if not _SAFE_PART.match(clean) else clean)
    return "/".join(parts)


def _detect_layout(dirs: set[PurePosixPath]) -> tuple[str, PurePosixPath | None]:
    """The paired layout's kind and root folder, or ("sharp", None)."""
    for root in sorted(dirs | {PurePosixPath(".")}, key=lambda p: (len(p.parts), str(p))):
        if root / "sharp" in dirs and (root / "defocused_blurred" in dirs or root / "motion_blurred" in dirs):
            return "kaggle", root
        if root / "good_frames" in dirs and root / "bad_frames" in dirs:
            return "frames", root
    return "sharp", None


def _count_pairs(layout: str, root: PurePosixPath, images: list[PurePosixPath]) -> int:
    """Pairs matched the way :func:`deblur_core.training.data.find_pairs` matches them."""

    def under(folder: str) -> list[PurePosixPath]:
        base = root / folder
        return [p for p in images if base in p.parents]

    if layout == "kaggle":
        sharp = {_KAGGLE_SUFFIX.sub("", p.stem).lower() for p in under("sharp")}
        blurred = under("defocused_blurred") + under("motion_blurred")
        return sum(_KAGGLE_SUFFIX.sub("", p.stem).lower() in sharp for p in blurred)
    good = {p.stem.lower() for p in under("good_frames")}
    return sum(p.stem.lower() in good for p in under("bad_frames"))


def inspect_zip(
    data: bytes,
    limits: ZipLimits | None = None,
    on_progress: ProgressFn | None = None,
) -> ZipReport:
    """Check a training-data archive in memory and describe what it holds.

    Parameters
    ----------
    data : bytes
        The zip file's bytes.
    limits : ZipLimits, optional
        Size, count and ratio limits; the defaults suit a browser upload.
    on_progress : callable, optional
        ``on_progress(done, total, {"member": name})`` after each image is decoded.

    Returns
    -------
    ZipReport

    Raises
    ------
    UnsafeZipError
        For a path trick (absolute path, ``..``, a symbolic link), a zip bomb (too many members, too
        many uncompressed bytes, a compression ratio above the limit), an encrypted member, too many
        pixels in all, or too few usable images. The message names the member where there is one.
    """
    limits = limits or ZipLimits()
    if not data:
        raise UnsafeZipError("The archive is empty.")
    with open_archive(data) as zf:
        candidates, skipped, dirs = _candidates(zf, len(data), limits)
        layout, root = _detect_layout(dirs)
        if root is not None:
            candidates = _in_paired_folders(candidates, skipped, layout, root)
        images, pixels, accepted = _decode_images(zf, candidates, root, limits, skipped, on_progress)
    report = ZipReport(
        layout=layout,
        root="" if root is None or str(root) == "." else str(root),
        images=images,
        skipped=skipped,
        pixels=pixels,
        digest=hashlib.sha256(data).hexdigest(),
    )
    if root is not None:
        report.pairs = _count_pairs(layout, root, accepted)
        if report.pairs < limits.min_images:
            raise UnsafeZipError(
                f"The archive has the paired layout but only {report.pairs} blurred image(s) with a sharp partner of the "
                f"same name; at least {limits.min_images} are needed."
            )
    elif len(images) < limits.min_images:
        detail = f" Skipped: {format_skipped(skipped, 3)}" if skipped else ""
        raise UnsafeZipError(
            f"The archive holds {len(images)} usable image(s); at least {limits.min_images} are needed.{detail}"
        )
    return report


def _candidates(zf: zipfile.ZipFile, size: int, limits: ZipLimits):
    """The image members worth decoding, the members skipped and why, and the folders seen.

    Every member is checked first: a path trick, a symbolic link, an encrypted member, a zip bomb or
    too many bytes refuse the archive as a whole.
    """
    infos = zf.infolist()
    if len(infos) > limits.max_members:
        raise UnsafeZipError(
            f"The archive has {len(infos)} members; at most {limits.max_members} are accepted. Split it up."
        )
    declared_total = 0
    candidates: list[tuple[zipfile.ZipInfo, PurePosixPath]] = []
    skipped: list[tuple[str, str]] = []
    dirs: set[PurePosixPath] = set()
    for info in infos:
        path = check_member(info)
        if info.is_dir() or str(path) == ".":
            continue
        declared_total += info.file_size
        if declared_total > limits.max_total_bytes:
            raise UnsafeZipError(
                f"The archive unpacks to more than {limits.max_total_bytes / 1024**2:.0f} MB; use fewer or smaller images."
            )
        check_ratio(info, limits.max_ratio)
        if is_junk(info.filename):
            continue
        if path.suffix.lower() not in IMAGE_SUFFIXES:
            skipped.append((info.filename, f"not an image (only {ALLOWED_TEXT} files are used)"))
            continue
        if info.file_size > limits.max_member_bytes:
            skipped.append((info.filename, f"larger than {limits.max_member_bytes / 1024**2:.0f} MB"))
            continue
        for parent in path.parents:
            if str(parent) != ".":
                dirs.add(parent)
        candidates.append((info, path))
    overall = declared_total / max(size, 1)
    if declared_total > 8 * 1024**2 and overall > limits.max_ratio:
        raise UnsafeZipError(
            f"The archive is compressed {overall:.0f}:1 overall, more than real images reach; it is refused."
        )
    return candidates, skipped, dirs


def _in_paired_folders(candidates: list, skipped: list, layout: str, root: PurePosixPath) -> list:
    """The candidates inside the paired layout's folders; the others are skipped."""
    wanted = [root / f for f in (KAGGLE_FOLDERS if layout == "kaggle" else FRAME_FOLDERS)]
    keep = []
    for info, path in candidates:
        if any(w in path.parents for w in wanted):
            keep.append((info, path))
        else:
            skipped.append((info.filename, "outside the paired folders"))
    return keep


def _decode_images(zf, candidates: list, root, limits: ZipLimits, skipped: list, on_progress):
    """Decode every candidate; return {member: sanitised path}, the pixel count and the accepted paths."""
    from deblur_core.io import ImageLoadError, load_image

    images: dict[str, str] = {}
    used: set[str] = set()
    pixels = 0
    accepted_paths: list[PurePosixPath] = []
    for done, (info, path) in enumerate(candidates, 1):
        try:
            raw = read_member(zf, info, info.file_size)
        except (zipfile.BadZipFile, EOFError, NotImplementedError, OSError, zlib.error) as exc:
            skipped.append((info.filename, f"damaged inside the archive ({exc})"))
            continue
        try:
            loaded = load_image(raw, name=info.filename, max_pixels=limits.max_image_pixels)
        except ImageLoadError as exc:
            skipped.append((info.filename, exc.reason.rstrip(".")))
            continue
        pixels += loaded.width * loaded.height
        del loaded
        if pixels > limits.max_total_pixels:
            raise UnsafeZipError(
                f"The images add up to more than {limits.max_total_pixels / 1e6:.0f} megapixels, which would not fit in "
                "memory during training; use fewer or smaller images."
            )
        rel = path.relative_to(root) if root is not None else path
        target = _safe_relative(rel)
        if target.lower() in used:  # two members that differ only in odd characters or case
            stem, _, suffix = target.rpartition(".")
            target = f"{stem}-{done}.{suffix}"
        used.add(target.lower())
        images[info.filename] = target
        accepted_paths.append(path)
        if on_progress is not None:
            on_progress(done, len(candidates), {"member": info.filename})
    return images, pixels, accepted_paths


def extract_zip(
    data: bytes, dest: str | Path, report: ZipReport | None = None, limits: ZipLimits | None = None
) -> Path:
    """Write the checked images of an archive into ``dest`` and return the folder to train on.

    Parameters
    ----------
    data : bytes
        The zip file's bytes.
    dest : str or Path
        An empty or missing folder owned by the caller (created with owner-only permissions).
    report : ZipReport, optional
        The result of :func:`inspect_zip` for these bytes, to skip decoding every image again;
        ignored (and the archive inspected afresh) if it was made for other bytes.
    limits : ZipLimits, optional
        As for :func:`inspect_zip`.

    Returns
    -------
    Path
        ``dest``. Images keep their folders; for a paired layout the folders are taken relative to
        the layout's root, so ``dest`` itself holds ``sharp/`` (or ``good_frames/``) and is the
        folder to pass to ``--paired``.

    Raises
    ------
    UnsafeZipError
        As for :func:`inspect_zip`.
    """
    if report is None or report.digest != hashlib.sha256(data).hexdigest():
        report = inspect_zip(data, limits)
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True, mode=0o700)
    base = dest.resolve()
    with open_archive(data) as zf:
        for member, rel in report.images.items():
            target = (base / rel).resolve()
            if base not in target.parents:  # defence in depth: sanitised names never leave dest
                raise UnsafeZipError(f"The archive member '{member}' would be written outside its folder.")
            target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            info = zf.getinfo(member)
            target.write_bytes(read_member(zf, info, info.file_size))
    return dest


def format_skipped(skipped: list[tuple[str, str]], limit: int = 10) -> str:
    """The skipped members as one line: ``a.txt (not an image); b.png (damaged)``, shortened."""
    text = "; ".join(f"{name} ({why})" for name, why in skipped[:limit])
    if len(skipped) > limit:
        text += f"; and {len(skipped) - limit} more"
    return text
