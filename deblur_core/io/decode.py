"""Decode still images safely into the library's convention: float32 RGB, H x W x 3, in [0, 1].

uint8, palettes, CMYK, 16-bit samples, colour profiles and EXIF orientation are dealt with here and
nowhere else (HEIC photos' decoder in :mod:`deblur_core.io.heif`).

Untrusted files are handled defensively: only the formats in :data:`ALLOWED_FORMATS` are parsed,
the pixel count from the header is checked against a limit before any pixel is decoded (so a
decompression bomb costs no memory), truncated files are refused rather than padded with grey, and
every failure is an :class:`ImageLoadError` whose message starts with the file's name and says what
to do.
"""

from __future__ import annotations

import contextlib
import functools
import io
import os
import struct
import sys
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from deblur_core.files import UnusableFileError
from deblur_core.io import heif

try:
    from PIL import ImageCms
except ImportError:  # Pillow built without littlecms: embedded colour profiles are then ignored.
    ImageCms = None


__all__ = [
    "ALLOWED_FORMATS",
    "ALLOWED_TEXT",
    "DEFAULT_MAX_PIXELS",
    "IMAGE_SUFFIXES",
    "MIN_SIDE",
    "ImageLoadError",
    "LoadedImage",
    "load_image",
    "probe_image",
    "read_rgb",
]

DEFAULT_MAX_PIXELS = 24_000_000
MIN_SIDE = 8
_HEIF = heif.available()
ALLOWED_FORMATS = ("PNG", "JPEG", "WEBP", "BMP", "TIFF", "GIF") + ((heif.FORMAT,) if _HEIF else ())
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff", ".gif") + (heif.SUFFIXES if _HEIF else ())
"""File endings of the formats in :data:`ALLOWED_FORMATS`: what folders, zips and upload boxes look for."""
ALLOWED_TEXT = "PNG, JPEG, WebP, BMP, TIFF, GIF or HEIC" if _HEIF else "PNG, JPEG, WebP, BMP, TIFF or GIF"
_DEFAULT_NAME = "image"

# What Pillow raises for damaged or truncated data while parsing headers or decoding pixels. Its own
# format detection swallows the same family (SyntaxError, IndexError, TypeError, struct.error).
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, IndexError, KeyError, TypeError, struct.error, zlib.error)

_GREY_16_BIT_MODES = ("I;16", "I;16L", "I;16B", "I;16N")

# Pillow keeps only the high byte of 16-bit RGB(A) samples. Decoding the same data a second time with
# the opposite byte order yields the low bytes, and the two together give back all 16 bits.
_NATIVE_LOW = "B" if sys.byteorder == "little" else "L"
_LOW_BYTE_RAWMODES = {
    "RGB;16B": "RGB;16L",
    "RGB;16L": "RGB;16B",
    "RGB;16N": "RGB;16" + _NATIVE_LOW,
    "RGBA;16B": "RGBA;16L",
    "RGBA;16L": "RGBA;16B",
    "RGBA;16N": "RGBA;16" + _NATIVE_LOW,
}


class ImageLoadError(UnusableFileError):
    """An image file that cannot be used (``filename``, ``reason``); the message starts with the file's name."""


@dataclass
class LoadedImage:
    """A decoded image in the library's convention, with what is needed to write it back alike.

    Attributes
    ----------
    rgb : numpy.ndarray
        float32, H x W x 3, values in [0, 1], sRGB, upright (EXIF orientation applied).
    alpha : numpy.ndarray or None
        float32, H x W, values in [0, 1] (1 is opaque), or None when the source has no transparency.
    greyscale : bool
        True when the source was greyscale (modes 1, L, LA, I;16, I, F); ``rgb`` then has three
        identical channels.
    name : str
        The file's name, used in messages.
    format : str
        Pillow's format name: ``"PNG"``, ``"JPEG"``, ``"WEBP"``, ``"BMP"``, ``"TIFF"``, ``"GIF"`` or
        ``"HEIF"`` (HEIC and HEIF photos).
    bit_depth : int
        Bits per sample in the source file: 16 for 16-bit (and 32-bit integer or float) sources and
        for 10- and 12-bit HEIC, which are read at their full depth; otherwise 8.
    """

    rgb: np.ndarray
    alpha: np.ndarray | None
    greyscale: bool
    name: str
    format: str
    bit_depth: int

    @property
    def megapixels(self) -> float:
        """Pixel count in millions."""
        return self.rgb.shape[0] * self.rgb.shape[1] / 1e6

    @property
    def height(self) -> int:
        """Height in pixels."""
        return int(self.rgb.shape[0])

    @property
    def width(self) -> int:
        """Width in pixels."""
        return int(self.rgb.shape[1])


# --------------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------------


def load_image(
    source: str | os.PathLike | bytes | BinaryIO,
    *,
    name: str = "",
    max_pixels: int = DEFAULT_MAX_PIXELS,
    min_side: int = MIN_SIDE,
) -> LoadedImage:
    """Decode an image file into float32 RGB in [0, 1], refusing anything unsafe or unusable.

    Only the first frame of an animated GIF, WebP or multi-page TIFF is read. EXIF orientation is
    applied and an embedded ICC profile is converted to sRGB (a profile that cannot be used is
    ignored). Transparency is returned separately as ``alpha``.

    Sample depth: 16-bit greyscale keeps all 16 bits (divided by 65535). 16-bit RGB and RGBA PNG and
    TIFF files also keep all 16 bits, except when an embedded colour profile really changes their
    colours: the conversion then runs at 8 bits. 16-bit greyscale-with-alpha PNGs are read at 8 bits.
    32-bit integer greyscale is divided by 65535 and clipped to [0, 1]; floating-point greyscale is
    taken as [0, 1] if it fits, otherwise as 8-bit or 16-bit values (negative values become 0).

    Parameters
    ----------
    source : str, os.PathLike, bytes or binary file object
        A path, the file's bytes, or an open binary file (such as an upload); a file object is read
        from its start.
    name : str, optional
        Name used in messages; defaults to the path's file name or the file object's ``name``.
    max_pixels : int, optional
        Largest accepted width x height. Larger images are refused, never resized.
    min_side : int, optional
        Smallest accepted width and height, in pixels.

    Returns
    -------
    LoadedImage
        The pixels and what is known about the source.

    Raises
    ------
    ImageLoadError
        The file is missing, empty, not an image in an allowed format, damaged or truncated, larger
        than ``max_pixels`` or smaller than ``min_side``. The message starts with the file's name.
    ValueError
        ``max_pixels`` or ``min_side`` is not a positive integer.
    TypeError
        ``source`` is of another type.
    """
    if int(max_pixels) != max_pixels or max_pixels < 1:
        raise ValueError(f"max_pixels must be a positive whole number, got {max_pixels!r}.")
    if int(min_side) != min_side or min_side < 1:
        raise ValueError(f"min_side must be a positive whole number, got {min_side!r}.")
    label = name or _source_name(source)

    if isinstance(source, (str, os.PathLike)):
        path = Path(os.fspath(source))
        _check_path(path, label)
        try:
            handle = path.open("rb")
        except OSError as error:
            raise ImageLoadError(label, f"the file cannot be read ({error.strerror or error}).") from None
        with handle:
            return _load_from_file(handle, label, max_pixels, min_side)
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        if not data:
            raise ImageLoadError(label, "the file is empty.")
        return _load_from_file(io.BytesIO(data), label, max_pixels, min_side)
    if hasattr(source, "read"):
        return _load_from_file(_seekable(source, label), label, max_pixels, min_side)
    raise TypeError(f"load_image expects a path, bytes or a binary file object, not {type(source).__name__}.")


def read_rgb(source: str | os.PathLike | bytes | BinaryIO, **kwargs) -> np.ndarray:
    """Load an image and return only its float32 H x W x 3 RGB pixels in [0, 1].

    Parameters
    ----------
    source : str, os.PathLike, bytes or binary file object
        As for :func:`load_image`.
    **kwargs
        ``name``, ``max_pixels`` and ``min_side``, as for :func:`load_image`.

    Returns
    -------
    numpy.ndarray
        float32, H x W x 3, values in [0, 1].

    Raises
    ------
    ImageLoadError
        As for :func:`load_image`.
    """
    return load_image(source, **kwargs).rgb


def _source_name(source: object) -> str:
    """The name to show for a source: its file name where it has one."""
    if isinstance(source, (str, os.PathLike)):
        text = os.fspath(source)
        if isinstance(text, bytes):
            text = os.fsdecode(text)
        return Path(text).name or text or _DEFAULT_NAME
    file_name = getattr(source, "name", None)
    if isinstance(file_name, str) and file_name:
        return Path(file_name).name or file_name
    return _DEFAULT_NAME


def _check_path(path: Path, label: str) -> None:
    """Refuse a missing path, a folder or an empty file with a clear message."""
    try:
        info = path.stat()
    except FileNotFoundError:
        raise ImageLoadError(label, f"the file does not exist (looked for {path}).") from None
    except OSError as error:
        raise ImageLoadError(label, f"the file cannot be read ({error.strerror or error}).") from None
    if path.is_dir():
        raise ImageLoadError(label, "this is a folder, not an image file.")
    if info.st_size == 0:
        raise ImageLoadError(label, "the file is empty.")


def _seekable(handle: BinaryIO, label: str) -> BinaryIO:
    """Return a seekable, non-empty stream for a file object; copy it into memory if it cannot seek."""
    try:
        handle.seek(0)
        first = handle.read(1)
        handle.seek(0)
    except (AttributeError, OSError, io.UnsupportedOperation):
        first = None
    if first is None:
        data = handle.read()
        if not data:
            raise ImageLoadError(label, "the file is empty.")
        return io.BytesIO(data)
    if not first:
        raise ImageLoadError(label, "the file is empty.")
    return handle


def _format_megapixels(value: float) -> str:
    """Megapixels with one decimal, or two significant digits for tiny values."""
    return f"{value:.1f}" if value >= 0.1 else f"{value:.2g}"


def _open_checked(handle: BinaryIO, label: str, max_pixels: int, min_side: int) -> Image.Image:
    """Open an image from its header and check its size against the limits; no pixel is decoded."""
    limit_text = f"{max_pixels / 1e6:g}"
    try:
        image = Image.open(handle, formats=ALLOWED_FORMATS)
    except UnidentifiedImageError:
        raise ImageLoadError(
            label, f"this is not a {ALLOWED_TEXT} image, or the file is damaged; save it as PNG or JPEG and retry."
        ) from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageLoadError(
            label,
            f"the image claims to be far larger than the limit of {limit_text} megapixels, so it was not opened "
            "(it may be a decompression bomb).",
        ) from None
    except _DECODE_ERRORS:
        raise ImageLoadError(label, "the file is damaged and cannot be read; export it again and retry.") from None
    width, height = image.size
    if width * height > max_pixels:
        image.close()
        raise ImageLoadError(
            label,
            f"the image is {_format_megapixels(width * height / 1e6)} megapixels; the limit is {limit_text} megapixels. "
            "Shrink it first.",
        )
    if min(width, height) < min_side:
        image.close()
        raise ImageLoadError(
            label, f"the image is {width} x {height} pixels; each side must be at least {min_side} pixels."
        )
    return image


def probe_image(
    path: str | os.PathLike, *, name: str = "", max_pixels: int = DEFAULT_MAX_PIXELS, min_side: int = MIN_SIDE
) -> tuple[int, int]:
    """Check an image file as :func:`load_image` would, from its header alone, and return ``(width, height)``.

    Answers in milliseconds whatever the image's size: a command can refuse a missing, empty, foreign or
    oversized file before it starts anything slow. A file that passes may still turn out truncated when
    its pixels are decoded.

    Raises
    ------
    ImageLoadError
        The file is missing, empty, not an image in an allowed format, or outside the size limits.
    """
    label = name or _source_name(path)
    file_path = Path(os.fspath(path))
    _check_path(file_path, label)
    try:
        handle = file_path.open("rb")
    except OSError as error:
        raise ImageLoadError(label, f"the file cannot be read ({error.strerror or error}).") from None
    with handle, _open_checked(handle, label, max_pixels, min_side) as image:
        return image.size


def _load_from_file(handle: BinaryIO, label: str, max_pixels: int, min_side: int) -> LoadedImage:
    """Open, check, decode and convert an image from a seekable binary stream."""
    limit_text = f"{max_pixels / 1e6:g}"
    image = _open_checked(handle, label, max_pixels, min_side)
    with image:
        fmt = image.format or "?"
        rawmode = _rawmode(image)
        bit_depth = _bit_depth(image, rawmode)
        try:
            image.load()
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise ImageLoadError(
                label, f"the image is larger than the limit of {limit_text} megapixels once decoded."
            ) from None
        except _DECODE_ERRORS:
            raise ImageLoadError(
                label, "the file is truncated or damaged, so the image cannot be decoded completely."
            ) from None
        if fmt == heif.FORMAT:
            # Decoded upright already; a photo deeper than 8 bits is decoded again at its full depth.
            deep = heif.full_depth(handle, image)
            if deep is not None:
                image, low = deep
                bit_depth = 16
            else:
                low = None
        else:
            low = _low_bytes(handle, image, rawmode)
        image = _upright(image)
        if low is not None:
            low = _upright(low)
        icc = image.info.get("icc_profile")
        try:
            rgb, alpha, greyscale = _to_arrays(image, low, icc, label)
        finally:
            if low is not None:
                low.close()

    if rawmode.startswith(("L;", "LA;", "I;")):
        greyscale = True  # 16-bit grey(+alpha) that Pillow widened to RGB(A)
    return LoadedImage(rgb=rgb, alpha=alpha, greyscale=greyscale, name=label, format=fmt, bit_depth=bit_depth)


def _rawmode(image: Image.Image) -> str:
    """The raw sample layout of the first tile as Pillow will decode it ('' when unknown)."""
    tiles = getattr(image, "tile", None) or []
    if not tiles:
        return ""
    args = tiles[0][3] if len(tiles[0]) > 3 else None
    if isinstance(args, tuple):
        args = args[0] if args else None
    return args if isinstance(args, str) else ""


def _bit_depth(image: Image.Image, rawmode: str) -> int:
    """16 for sources with more than 8 bits per sample, otherwise 8."""
    if image.mode in (*_GREY_16_BIT_MODES, "I", "F") or ";16" in rawmode:
        return 16
    tags = getattr(image, "tag_v2", None)
    if tags is not None:
        bits = tags.get(258)  # TIFF BitsPerSample
        values = bits if isinstance(bits, tuple) else (bits,)
        if any(isinstance(b, int) and b > 8 for b in values):
            return 16
    return 8


def _low_bytes(handle: BinaryIO, image: Image.Image, rawmode: str) -> Image.Image | None:
    """Decode the low bytes of 16-bit RGB(A) samples that Pillow reduced to 8 bits, or None."""
    low_rawmode = _LOW_BYTE_RAWMODES.get(rawmode)
    if low_rawmode is None or image.mode not in ("RGB", "RGBA"):
        return None
    try:
        second = Image.open(handle, formats=(image.format,))
        if second.size != image.size or second.mode != image.mode or _rawmode(second) != rawmode:
            second.close()
            return None
        second.tile = [tile._replace(args=_swap_rawmode(tile.args, low_rawmode)) for tile in second.tile]
        second.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning, *_DECODE_ERRORS, AttributeError):
        return None  # keep the 8-bit decode that already succeeded
    return second


def _swap_rawmode(args: object, rawmode: str) -> object:
    """Tile arguments with the raw mode replaced (a bare string for PNG, a tuple for TIFF)."""
    if isinstance(args, tuple):
        return (rawmode, *args[1:])
    return rawmode


def _upright(image: Image.Image) -> Image.Image:
    """Apply the EXIF orientation; a damaged EXIF block is ignored."""
    # An unreadable orientation leaves the pixels as stored.
    with contextlib.suppress(*_DECODE_ERRORS):
        ImageOps.exif_transpose(image, in_place=True)
    return image


@functools.lru_cache(maxsize=1)
def _srgb_profile():
    """The sRGB profile that every embedded profile is converted to."""
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


@functools.lru_cache(maxsize=1)
def _probe_image() -> Image.Image:
    """A lattice of 17^3 RGB colours used to tell whether a profile changes anything."""
    levels = np.arange(0, 256, 15, dtype=np.uint8)
    grid = np.stack(np.meshgrid(levels, levels, levels, indexing="ij"), axis=-1).reshape(1, -1, 3)
    return Image.fromarray(grid)


def _colour_manage(image: Image.Image, icc: bytes | None) -> Image.Image | None:
    """Convert an RGB, CMYK or LAB image with an embedded profile to sRGB RGB.

    Returns None when there is nothing to do: no profile, a profile that is unusable or does not
    match the mode, or an RGB profile equivalent to sRGB.
    """
    if not icc or ImageCms is None:
        return None
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        transform = ImageCms.buildTransform(source, _srgb_profile(), image.mode, "RGB")
        if image.mode == "RGB":
            probe = _probe_image()
            moved = np.asarray(ImageCms.applyTransform(probe, transform), dtype=np.int16)
            if np.abs(moved - np.asarray(probe, dtype=np.int16)).max() <= 1:
                return None  # an sRGB-like profile: leave the pixels (and any 16-bit precision) alone
        return ImageCms.applyTransform(image, transform)
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        return None  # a broken or mismatched profile is ignored rather than refusing the image


def _grey_rgb(plane: np.ndarray) -> np.ndarray:
    """Three identical float32 channels from one plane."""
    plane = np.ascontiguousarray(plane, dtype=np.float32)
    return np.repeat(plane[:, :, None], 3, axis=2)


def _float_plane(values: np.ndarray, label: str) -> np.ndarray:
    """Bring a floating-point greyscale plane into [0, 1]."""
    plane = np.nan_to_num(values.astype(np.float32), nan=0.0, posinf=0.0, neginf=0.0)
    plane = np.maximum(plane, 0.0)
    peak = float(plane.max()) if plane.size else 0.0
    if peak <= 1.0:
        return plane
    if peak <= 255.0:
        return plane / np.float32(255.0)
    if peak <= 65535.0:
        return plane / np.float32(65535.0)
    raise ImageLoadError(
        label, "its floating-point values go beyond the 16-bit range; convert it to an 8- or 16-bit image first."
    )


def _to_arrays(
    image: Image.Image, low: Image.Image | None, icc: bytes | None, label: str
) -> tuple[np.ndarray, np.ndarray | None, bool]:
    """Pixels of a decoded Pillow image as (rgb, alpha, greyscale) in the library's convention."""
    mode = image.mode

    # Greyscale deeper than 8 bits: read the samples directly, never through an 8-bit mode.
    if mode in _GREY_16_BIT_MODES:
        return _grey_rgb(np.asarray(image).astype(np.float32) / np.float32(65535.0)), None, True
    if mode == "I":
        values = np.clip(np.asarray(image, dtype=np.int64), 0, 65535)
        return _grey_rgb(values.astype(np.float32) / np.float32(65535.0)), None, True
    if mode == "F":
        return _grey_rgb(_float_plane(np.asarray(image), label)), None, True

    # Greyscale at 8 bits (profiles on grey images are ignored: grey stays grey).
    if mode in ("1", "L", "LA", "La"):
        if mode == "La" or (mode in ("1", "L") and "transparency" in image.info):
            image = image.convert("LA")
        elif mode == "1":
            image = image.convert("L")
        values = np.asarray(image).astype(np.float32) / np.float32(255.0)
        if image.mode == "LA":
            return _grey_rgb(values[:, :, 0]), np.ascontiguousarray(values[:, :, 1]), True
        return _grey_rgb(values), None, True

    # Colour: bring every mode to RGB or RGBA, colour-managed where a profile says so.
    if mode in ("P", "PA"):
        image = image.convert("RGBA" if mode == "PA" or "transparency" in image.info else "RGB")
    elif mode == "RGBa" or (mode == "RGB" and "transparency" in image.info):
        image = image.convert("RGBA")
        low = None
    elif mode in ("CMYK", "LAB"):
        managed = _colour_manage(image, icc)
        image = managed if managed is not None else _convert_rgb(image, label)
    elif mode not in ("RGB", "RGBA"):
        image = _convert_rgb(image, label)
        low = None

    alpha_image = image.getchannel("A") if image.mode == "RGBA" else None
    colour = image.convert("RGB") if image.mode == "RGBA" else image
    if mode in ("RGB", "RGBA", "RGBa", "P", "PA"):
        managed = _colour_manage(colour, icc)
        if managed is not None:
            colour, low = managed, None  # the conversion runs at 8 bits

    rgb = np.asarray(colour).astype(np.float32)
    alpha = None if alpha_image is None else np.asarray(alpha_image).astype(np.float32)
    if low is not None and low.size == image.size:
        low_values = np.asarray(low).astype(np.float32)
        rgb = (rgb * 256.0 + low_values[:, :, :3]) / np.float32(65535.0)
        if alpha is not None and low_values.shape[2] == 4:
            alpha = (alpha * 256.0 + low_values[:, :, 3]) / np.float32(65535.0)
        elif alpha is not None:
            alpha /= np.float32(255.0)
    else:
        rgb /= np.float32(255.0)
        if alpha is not None:
            alpha /= np.float32(255.0)
    return np.ascontiguousarray(rgb, dtype=np.float32), alpha, False


def _convert_rgb(image: Image.Image, label: str) -> Image.Image:
    """Pillow's own conversion to RGB, for modes such as YCbCr, HSV and CMYK without a profile."""
    try:
        return image.convert("RGB")
    except ValueError:
        raise ImageLoadError(
            label, f"its colour mode {image.mode} is not supported; save it as an 8-bit RGB image first."
        ) from None
