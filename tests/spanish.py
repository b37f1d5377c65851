"""Spanish content for tests: the real content/es files, with any file the translators have
not written yet filled in from English (marked, and for tests only).

The placeholder keeps the English text, so tests that read the words of a page (no English
interface text, readability) use only the catalog's words, never the placeholder's, and
say so. Once content/es is complete, `placeholders` is empty and every test runs on the
real translation.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from handouts.paths import default_content_dir

SINGLE = ["faq.yaml", "questions.yaml", "glossary.yaml", "common.yaml", "triage.yaml"]


def english_files(root: Path) -> list[Path]:
    return [root / name for name in SINGLE] + sorted((root / "drugs").glob("*.yaml"))


def spanish_content(target: Path) -> tuple[Path, list[str]]:
    """Copy the shipped content (with its es/ folder) to target; fill each missing Spanish
    file with a placeholder. Returns (content folder, names of placeholder files)."""
    shutil.copytree(default_content_dir(), target)
    placeholders = []
    for english in english_files(target):
        relative = english.relative_to(target)
        spanish = target / "es" / relative
        if spanish.is_file():
            continue
        data = yaml.safe_load(english.read_text(encoding="utf-8"))
        data["translation_of"] = data["version"]
        spanish.parent.mkdir(parents=True, exist_ok=True)
        spanish.write_text("# PLACEHOLDER for tests: English text, not a translation\n"
                           + yaml.safe_dump(data, allow_unicode=True, sort_keys=False),
                           encoding="utf-8")
        placeholders.append(str(relative))
    return target, placeholders
