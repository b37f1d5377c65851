"""The Jinja stage: escaping, strictness, clinic overrides, and the documented context."""

from __future__ import annotations

import pytest

from conftest import pdf_text
from handouts.build import Builder
from handouts.context import CONTEXT_KEYS, PART_KEYS, build_context
from handouts.errors import RenderError
from handouts.options import Options, personal
from handouts.paths import default_templates_dir
from handouts.render import Renderer, left_column_count


def test_context_keys_match_the_documentation(builder):
    parts = builder.plan(["faq", "drug-sheet"], "brigatinib")
    context = build_context(parts, builder.library, Options())
    assert set(context) == set(CONTEXT_KEYS)
    assert all(set(part) == set(PART_KEYS) for part in context["parts"])


def test_autoescape_covers_html_j2_templates(tmp_path):
    (tmp_path / "t.html.j2").write_text("<p>{{ value }}</p>")
    renderer = Renderer(default_templates_dir(), tmp_path)
    assert renderer.render({"value": "<b>x</b>"}, "t.html.j2") == "<p>&lt;b&gt;x&lt;/b&gt;</p>"


def test_a_missing_value_is_an_error_not_a_blank(tmp_path):
    (tmp_path / "t.html.j2").write_text("Dose: {{ drug.dose }}")
    renderer = Renderer(default_templates_dir(), tmp_path)
    with pytest.raises(RenderError, match="does not exist"):
        renderer.render({}, "t.html.j2")


def test_clinic_templates_override_ours_file_by_file(tmp_path):
    overrides = tmp_path / "templates" / "_partials"
    overrides.mkdir(parents=True)
    # Override one partial and still reuse ours through the "default:" prefix.
    (overrides / "end_matter.html.j2").write_text(
        '<p class="clinic-note">Reviewed by Riverside pharmacy.</p>'
        '{% include "default:_partials/end_matter.html.j2" %}')
    builder = Builder(templates_dir=tmp_path / "templates")
    built = builder.build(["questions"], None, Options(), tmp_path / "q.pdf")
    text = pdf_text(built.path)
    assert "Reviewed by Riverside pharmacy." in text
    assert "Where this information comes from" in text  # ours, still included
    assert built.warnings == ()


def test_a_clinic_stylesheet_overrides_ours(tmp_path):
    folder = tmp_path / "templates"
    folder.mkdir()
    ours = (default_templates_dir() / "handout.css").read_text()
    (folder / "handout.css").write_text(ours + "\n.kicker::before { content: 'RIVERSIDE '; }")
    built = Builder(templates_dir=folder).build(["faq"], None, Options(), tmp_path / "f.pdf")
    assert "RIVERSIDE STAGE IV FAQ" in pdf_text(built.path)


def test_a_missing_templates_folder_is_a_clear_error(tmp_path):
    with pytest.raises(RenderError, match="templates folder not found"):
        Renderer(default_templates_dir(), tmp_path / "nope")


def test_personal_fields_show_only_on_the_first_part(builder):
    html = builder.html(builder.plan(["faq", "questions"]),
                        Options(personal=personal("Ana Diaz", None, None)))
    assert html.count("Ana Diaz") == 1


class _Sign:
    def __init__(self, text, write_in=None):
        self.text, self.write_in = text, write_in


def _signs(*lines):
    """Signs whose text fills that many 10-character lines."""
    return [(_Sign("x" * (10 * n)), None) for n in lines]


@pytest.mark.parametrize("lines, left", [
    ((1,), 1),                 # one sign: the left column, as balanced columns put it
    ((1, 1), 1),
    ((1, 1, 1), 2),            # the left column is the taller on a tie
    ((1, 1, 1, 2), 3),         # 3 and 2 beats 2 and 3 only by being left-heavy
    ((3, 3, 2, 3, 2, 1, 3), 3),
    ((5, 1, 1, 1), 1),
])
def test_two_column_sign_lists_split_where_balanced_columns_would(lines, left):
    assert left_column_count(_signs(*lines), chars_per_line=10) == left


def test_a_note_and_a_write_in_line_count_towards_a_signs_height():
    # A note adds ". note" to the line; a write-in is a line of its own.
    tall = [(_Sign("x" * 10, write_in="Call if above"), None), (_Sign("x" * 9), "y" * 9)]
    assert left_column_count(tall + _signs(1, 1, 1), chars_per_line=10) == 2
