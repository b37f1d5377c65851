"""Hatchling build hook: compile the gettext catalogs (.po → .mo) into the wheel.

The .mo files are build output, never committed: each wheel carries catalogs compiled from
the .po files it was built from, so `pip install .` alone gives a working Spanish edition.
A catalog with an untranslated or fuzzy message fails the build: a Spanish handout must
never fall back to English words.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

LOCALE = Path("src/handouts/locale")


class CompileCatalogs(BuildHookInterface):
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict) -> None:
        from babel.messages.mofile import write_mo
        from babel.messages.pofile import read_po

        out = Path(tempfile.mkdtemp(prefix="handouts-mo-"))
        for po_path in sorted((Path(self.root) / LOCALE).glob("*/LC_MESSAGES/*.po")):
            with po_path.open("rb") as handle:
                catalog = read_po(handle)
            missing = [m.id for m in catalog if m.id and (not m.string or m.fuzzy)]
            if missing:
                raise RuntimeError(f"{po_path}: {len(missing)} messages are untranslated or "
                                   f"fuzzy, e.g. {missing[0]!r}")
            relative = po_path.relative_to(Path(self.root) / LOCALE).with_suffix(".mo")
            mo_path = out / relative
            mo_path.parent.mkdir(parents=True, exist_ok=True)
            with mo_path.open("wb") as handle:
                write_mo(handle, catalog)
            build_data["force_include"][str(mo_path)] = f"handouts/locale/{relative}"
