"""The docs' code: the pages' examples run and print what the pages show,
warning of nothing, and no code line runs off a page."""

import doctest
import pathlib
import re
import warnings

import matplotlib
import pytest
import sklearn

import sklearn_il

ROOT = pathlib.Path(__file__).parents[1]
DOCS = ROOT / "docs"
CHAPTERS = sorted((DOCS / "user_guide").glob("*.rst"))
PAGES = [DOCS / "index.rst", DOCS / "getting_started.rst", *CHAPTERS]
WIDTH = 79


@pytest.mark.slow
@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.stem)
def test_page_runs_and_prints_what_it_shows(page, tmp_path, monkeypatch, capfd):
    # The snippets write files where they run, as a reader's would.
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path / "minari"))
    matplotlib.use("Agg")
    # A page's sklearn.set_config stays on its page. The suite's warning
    # filters (setup.cfg) do not apply: recorded is what a reader's Python
    # shows (its default filters), every time.
    with sklearn.config_context(), warnings.catch_warnings(record=True) as caught:
        warnings.resetwarnings()
        warnings.simplefilter("always")
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        warnings.filterwarnings("always", category=DeprecationWarning, module="__main__")
        for hidden in (PendingDeprecationWarning, ImportWarning, ResourceWarning):
            warnings.filterwarnings("ignore", category=hidden)
        result = doctest.testfile(
            str(page), module_relative=False, encoding="utf-8",
            optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    out, err = capfd.readouterr()
    assert result.failed == 0, out
    if page.parent.name == "user_guide" and page.stem != "index":
        assert result.attempted > 0, "every chapter shows code that runs"
    assert not caught, [f"{w.category.__name__}: {w.message}" for w in caught]
    assert "warning" not in (out + err).lower(), out + err


def _rst_code(text):
    """(line number, line) of the code in reStructuredText: doctest blocks,
    literal blocks after ``::`` and the bodies of code directives."""
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        stripped = lines[i].lstrip()
        indent = len(lines[i]) - len(stripped)
        if stripped.startswith(">>>"):
            while i < len(lines) and lines[i].strip():
                yield i + 1, lines[i][indent:]
                i += 1
            continue
        opens = (re.match(r"\.\. (code-block|code|sourcecode)::", stripped)
                 or (stripped.endswith("::") and not stripped.startswith("..")))
        i += 1
        if not opens:
            continue
        body = []
        while i < len(lines) and (not lines[i].strip()
                                  or len(lines[i]) - len(lines[i].lstrip()) > indent):
            if lines[i].strip() and not lines[i].lstrip().startswith(":"):
                body.append((i + 1, lines[i]))
            i += 1
        margin = min((len(line) - len(line.lstrip()) for _, line in body), default=0)
        yield from ((n, line[margin:]) for n, line in body)


def _markdown_code(text):
    fenced = False
    for n, line in enumerate(text.splitlines(), 1):
        if line.startswith("```"):
            fenced = not fenced
        elif fenced:
            yield n, line


def _docstring_examples(text):
    """Lines of the ``>>>`` blocks in a module's docstrings, as the API
    pages show them (the docstring's indentation removed)."""
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        stripped = lines[i].lstrip()
        if stripped.startswith(">>>"):
            indent = len(lines[i]) - len(stripped)
            while i < len(lines) and lines[i].strip() and '"""' not in lines[i]:
                yield i + 1, lines[i][indent:]
                i += 1
        i += 1


def _code_lines():
    for page in sorted(DOCS.rglob("*.rst")):
        if not {"_build", "generated", "auto_examples"} & set(page.parts):
            yield from ((page, n, line) for n, line in _rst_code(page.read_text()))
    readme = ROOT / "README.md"
    yield from ((readme, n, line) for n, line in _markdown_code(readme.read_text()))
    for script in sorted((ROOT / "examples").rglob("*.py")):
        yield from ((script, n, line)
                    for n, line in enumerate(script.read_text().splitlines(), 1))
    for module in sorted(pathlib.Path(sklearn_il.__file__).parent.rglob("*.py")):
        yield from ((module, n, line)
                    for n, line in _docstring_examples(module.read_text()))


def test_no_code_line_runs_off_the_page():
    long = [f"{path.relative_to(ROOT)}:{n} ({len(line)})"
            for path, n, line in _code_lines() if len(line) > WIDTH]
    assert not long, long


def test_the_line_reader_sees_each_kind_of_code():
    text = "Intro::\n\n    literal\n\nText.\n\n.. code-block:: python\n   :caption: x\n\n" \
           "   code\n\n>>> doctest\nout\n\nText::\n\n  last\n"
    assert [line for _, line in _rst_code(text)] == ["literal", "code", ">>> doctest",
                                                    "out", "last"]
    assert [line for _, line in _markdown_code("a\n```bash\ncmd\n```\nb")] == ["cmd"]
    module = 'def f():\n    """Doc.\n\n    >>> f()\n    1\n    """\n'
    assert [line for _, line in _docstring_examples(module)] == [">>> f()", "1"]
