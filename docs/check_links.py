"""Check a built site: other projects' names in the API pages link to their sites.

Run after the build, on its output folder (``.ci/run`` does):
``python docs/check_links.py docs/_build/html``. Exits 1 naming each name
that no API page links to its project's page.
"""

import pathlib
import sys

# Name as a reader meets it -> the address its link must point at (from the
# inventories in docs/_intersphinx).
EXPECTED = {
    "Pipeline": "https://scikit-learn.org/stable/modules/generated/sklearn.pipeline.Pipeline.html",
    "GridSearchCV":
        "https://scikit-learn.org/stable/modules/generated/sklearn.model_selection.GridSearchCV.html",
    "GroupKFold":
        "https://scikit-learn.org/stable/modules/generated/sklearn.model_selection.GroupKFold.html",
    "numpy.ndarray": "https://numpy.org/doc/stable/reference/generated/numpy.ndarray.html",
    "gymnasium.Env": "https://gymnasium.farama.org/api/env/#gymnasium.Env",
    "torch.nn.Module": "https://docs.pytorch.org/docs/stable/generated/torch.nn.Module.html",
}


def missing_links(site):
    """The names of ``EXPECTED`` that no page under ``generated/`` links as expected."""
    pages = [page.read_text(encoding="utf-8") for page in (site / "generated").glob("*.html")]
    if not pages:
        raise SystemExit(f"no API pages under {site / 'generated'}: build the docs first")
    return [name for name, url in EXPECTED.items()
            if not any(f'href="{url}' in page for page in pages)]


def main():
    site = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "docs/_build/html")
    missing = missing_links(site)
    for name in missing:
        print(f"{name}: no API page links it to {EXPECTED[name]}")
    if missing:
        sys.exit(1)
    print(f"the API pages link {', '.join(EXPECTED)} to their projects' sites")


if __name__ == "__main__":
    main()
