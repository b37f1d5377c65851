"""The PDF stage: stylesheets parsed once per writer, yet never stale."""

from __future__ import annotations

import shutil

from handouts.build import Builder
from handouts.options import Options
from handouts.paths import default_templates_dir


def test_an_edited_stylesheet_is_parsed_again_and_same_text_gives_same_bytes(tmp_path):
    shutil.copy(default_templates_dir() / "handout.css", tmp_path / "handout.css")
    builder = Builder(templates_dir=tmp_path)
    parts = builder.plan(["questions"])
    _, first = builder.render(parts, Options())
    _, again = builder.render(parts, Options())
    assert again.data == first.data  # the cached, parsed sheet gives the same PDF

    css = tmp_path / "handout.css"
    css.write_text(css.read_text() + "\nbody { font-size: 30pt; }\n")
    _, bigger = builder.render(parts, Options())  # same writer, same file name, new text
    assert bigger.pages > first.pages
    _, fresh = Builder(templates_dir=tmp_path).render(parts, Options())
    assert fresh.data == bigger.data
