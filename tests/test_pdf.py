"""The PDF stage: stylesheets parsed once per writer, yet never stale; WeasyPrint imported
without library searches."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

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


def _python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)


def test_weasyprint_is_imported_without_searching_for_libraries():
    """find_library runs ldconfig, gcc and ld per name it is given (150-200 ms a
    process); the libraries' sonames open without it, and WeasyPrint then renders."""
    result = _python(
        "import ctypes.util\n"
        "calls = []\n"
        "real = ctypes.util.find_library\n"
        "ctypes.util.find_library = lambda name: calls.append(name) or real(name)\n"
        "import handouts.pdf\n"
        "ctypes.util.find_library = real\n"
        "pdf = handouts.pdf.HTML(string='<p>hello</p>').write_pdf()\n"
        "print(len(calls), pdf[:5])\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["0", "b'%PDF-'"]


def test_weasyprint_is_imported_the_usual_way_when_the_sonames_do_not_open():
    """On a system where opening the sonames directly fails, WeasyPrint is imported
    again with find_library, and its notice from the first try is not printed."""
    result = _python(
        "import cffi, ctypes.util\n"
        "real = cffi.FFI.dlopen\n"
        "def dlopen(self, name, flags=0):\n"
        "    if ctypes.util.find_library('c') is None:  # inside the first try\n"
        "        raise OSError('simulated')\n"
        "    return real(self, name, flags)\n"
        "cffi.FFI.dlopen = dlopen\n"
        "import handouts.pdf\n"
        "print(handouts.pdf.HTML(string='<p>hello</p>').write_pdf()[:5])\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "b'%PDF-'\n"


def test_glyph_arrays_asked_for_unsized_give_the_same_pdf():
    """pdf._unsized_glyph_arrays spares cffi a parse per glyph count; the arrays, and so
    the PDFs, are the same as WeasyPrint's own `hb_codepoint_t[N]` ones."""
    import handouts.pdf as pdf

    parts = Builder().plan(["drug-sheet"], "crizotinib")
    patched = Builder().render(parts, Options())[1].data
    assert list(pdf._ffi.new("hb_codepoint_t[3]", [7, 8, 9])) == [7, 8, 9]
    own = type(pdf._ffi).new.__get__(pdf._ffi)  # cffi's, as WeasyPrint calls it
    try:
        pdf._ffi.new = own
        unpatched = Builder().render(parts, Options())[1].data
    finally:
        del pdf._ffi.new  # back to cffi's own, then patched again as on import
        pdf._unsized_glyph_arrays(pdf._ffi)
    assert patched == unpatched


def test_fonttools_subsetter_loads_when_weasyprint_needs_it():
    """pdf._import_lazily: fontTools' subsetter is not loaded on a machine with
    HarfBuzz-Subset; without it, WeasyPrint's fallback loads and uses it."""
    result = _python(
        "import sys\n"
        "import handouts.pdf\n"
        "import weasyprint.pdf.fonts as fonts\n"
        "html = handouts.pdf.HTML(string='<p>hello</p>')\n"
        "html.write_pdf()\n"
        "print(type(sys.modules['fontTools.subset']).__name__)\n"
        "fonts.harfbuzz_subset = None  # as on a machine without HarfBuzz-Subset\n"
        "pdf = html.write_pdf()\n"
        "import io, pikepdf\n"
        "doc = pikepdf.open(io.BytesIO(pdf))\n"
        "fonts = [f for p in doc.pages\n"
        "         for f in p.Resources.Font.values()]\n"
        "embedded = [f.DescendantFonts[0].FontDescriptor.get('/FontFile2') is not None\n"
        "            for f in fonts]\n"
        "print(type(sys.modules['fontTools.subset']).__name__, pdf[:5], all(embedded))\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[:2] == ["_LazyModule", "module b'%PDF-' True"]



def test_variable_font_instancer_loads_only_when_weasyprint_calls_it():
    """pdf._stand_in_instancer: importing WeasyPrint no longer loads fontTools' varLib;
    WeasyPrint's call (a variable font) reaches fontTools' own function, and any later
    import of the instancer gets fontTools' own module."""
    result = _python(
        "import sys\n"
        "import handouts.pdf\n"
        "handouts.pdf.HTML(string='<p>hello</p>').write_pdf()\n"
        "print('fontTools.varLib' in sys.modules, 'fontTools.varLib.instancer' in sys.modules)\n"
        "import fontTools.varLib.instancer as real\n"
        "print(hasattr(real, 'instantiateVariableFont') and hasattr(real, 'OverlapMode'))\n"
        "real.instantiateVariableFont = lambda *args, **kwargs: ('real', args, kwargs)\n"
        "import weasyprint.pdf.fonts as fonts\n"
        "print(fonts.instantiateVariableFont('font', {'wght': 700}))\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["False False", "True",
                                          "('real', ('font', {'wght': 700}), {})"]


def test_a_pack_workers_first_render_imports_weasyprint_the_fast_way():
    """A pack worker's first render is a cover's fields (graft.render_fields). Its own
    `import weasyprint` came first and bypassed handouts.pdf's import (library searches,
    the subsetter, the instancer): about 0.3 s more for each worker of each pack."""
    result = _python(
        "import sys\n"
        "from handouts import graft\n"
        "from handouts.build import Builder\n"
        "from handouts.context import Cover\n"
        "from handouts.options import Options, Personal\n"
        "builder = Builder()\n"
        "options = Options(personal=Personal('Zebulon Quartzfield', 'Dr. Yarrow', None))\n"
        "fields = graft.render_fields(builder, builder.plan(['questions']), options,\n"
        "                             Cover(alone=True, pages=8, starts=(1,)))\n"
        "print(fields.data[:5], 'weasyprint' in sys.modules,\n"
        "      type(sys.modules['fontTools.subset']).__name__,\n"
        "      'fontTools.varLib' in sys.modules)\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["b'%PDF-'", "True", "_LazyModule", "False"]

@pytest.mark.parametrize("profile", ["standard", "large-print"])
def test_custom_properties_inlined_give_the_same_pdf(monkeypatch, profile):
    """pdf.inline_custom_properties spares WeasyPrint checking each var() again per element;
    a dated calendar and diary (every colour handout.css names: rules, bands, tints; and
    --tick-gap, which large print's own :root sets again) come out byte for byte as
    WeasyPrint renders them with var()."""
    import handouts.pdf as pdf
    from handouts.options import PROFILES, schedule

    parts = Builder().plan(["calendar", "diary"], "crizotinib")
    options = Options(schedule=schedule("2026-12-02", None, None), profile=PROFILES[profile])
    css = (default_templates_dir() / "handout.css").read_text()
    assert "var(--rule)" in css and "var(" not in pdf.inline_custom_properties((css,))[0]
    inlined = Builder().render(parts, options)[1].data
    monkeypatch.setattr(pdf, "inline_custom_properties", lambda texts: texts)
    assert Builder().render(parts, options)[1].data == inlined


def test_custom_properties_are_inlined_only_when_nothing_can_differ():
    from handouts.pdf import inline_custom_properties as inline

    root = (":root { --ink: #111; --rule: #555 }\n"
            "p { color: var(--ink); border: 1pt solid var( --rule ) }")
    assert inline((root,)) == (":root { --ink: #111; --rule: #555 }\n"
                               "p { color: #111; border: 1pt solid #555 }",)
    # The last :root wins across sheets, as in the cascade; each sheet keeps its own text.
    assert inline((root, ":root { --ink: #000 }")) == (
        ":root { --ink: #111; --rule: #555 }\np { color: #000; border: 1pt solid #555 }",
        ":root { --ink: #000 }")
    unchanged = [
        (root, ".band { --ink: red }"),  # declared for some elements only
        (root, "@media print { :root { --ink: red } }"),  # inside an at-rule
        (root, ":root { --ink: red !important }"),
        (root, "h1 { color: var(--ink, red) }"),  # a fallback
        (root, "h1 { color: var(--unknown) }"),
    ]
    for texts in unchanged:
        assert inline(texts) == texts, texts
    assert inline(("p { color: red }",)) == ("p { color: red }",)
