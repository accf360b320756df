"""Sphinx configuration of the sklearn_il documentation."""

import os
import re
import sys

sys.path.insert(0, os.path.abspath(".."))
os.environ.setdefault("MPLBACKEND", "Agg")

import sklearn_il  # noqa: E402

project = "sklearn_il"
author = "sklearn_il developers"
copyright = "2026, sklearn_il developers"
release = version = sklearn_il.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]
autosummary_generate = True
# An override without a docstring stays without one: gymnasium's docstrings
# (an env's reset, step) refer to labels that exist only in its own
# documentation. Inherited scikit-learn methods are mended below.
autodoc_inherit_docstrings = False
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False

sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "download_all_examples": False,
    # Each API page lists the examples that use it (the class template's
    # minigallery reads these).
    "doc_module": ("sklearn_il",),
    "backreferences_dir": "generated/backreferences",
}

html_theme = "pydata_sphinx_theme"
html_title = f"sklearn_il {version}"
html_static_path = []
templates_path = ["_templates"]
exclude_patterns = ["_build", "auto_examples/*.ipynb", "auto_examples/*.py"]


def _scikit_learn_labels_as_text(app, what, name, obj, options, lines):
    """Inherited methods (``score``, ``get_params``, ``set_output``) carry
    scikit-learn's docstrings, whose ``:ref:`` labels exist only in its own
    documentation: keep their text, drop the link."""
    if getattr(obj, "__module__", "").startswith("sklearn."):
        lines[:] = [re.sub(r":ref:`([^`<]+?)\s*(?:<[^`>]+>)?`", r"\1", line) for line in lines]


def setup(app):
    app.connect("autodoc-process-docstring", _scikit_learn_labels_as_text)
