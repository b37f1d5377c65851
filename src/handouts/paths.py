"""Where the shipped templates and content live, installed or in a source checkout.

A wheel carries them inside the package (see pyproject.toml); an editable install or a
plain checkout finds them at the repository root. Clinics may point at their own folders
with --content-dir/--templates-dir or HANDOUTS_CONTENT_DIR/HANDOUTS_TEMPLATES_DIR.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent
_CHECKOUT = _PACKAGE.parent.parent


def _shipped(name: str) -> Path:
    inside = _PACKAGE / name
    return inside if inside.is_dir() else _CHECKOUT / name


def default_templates_dir() -> Path:
    """The templates that ship with handouts."""
    return _shipped("templates")


def default_content_dir() -> Path:
    """The content that ships with handouts."""
    return _shipped("content")


def template_folders(override: Path | None) -> tuple[Path, Path | None]:
    """(ours, the clinic's or None), resolved; RenderError when the clinic's is not a
    folder. Without Jinja: deciding what a pack must build hashes them, nothing more."""
    from .errors import RenderError

    if override and not override.is_dir():
        raise RenderError(f"templates folder not found: {override}")
    return default_templates_dir().resolve(), override.resolve() if override else None
