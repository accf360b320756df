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
    "sphinx.ext.intersphinx",
    "sphinx_gallery.gen_gallery",
]
autosummary_generate = True
# The page's table of contents names a method, not its class again.
toc_object_entries_show_parents = "hide"
# An override without a docstring stays without one: gymnasium's docstrings
# (an env's reset, step) refer to labels that exist only in its own
# documentation. Inherited scikit-learn methods are mended below.
autodoc_inherit_docstrings = False
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False

# Other projects' names link to their sites, from inventories kept in the
# repository (docs/_intersphinx/README.md says where each came from): the
# build reads no network.
_INVENTORIES = {
    "python": "https://docs.python.org/3/",
    "numpy": "https://numpy.org/doc/stable/",
    "sklearn": "https://scikit-learn.org/stable/",
    "imblearn": "https://imbalanced-learn.org/stable/",
    "torch": "https://docs.pytorch.org/docs/stable/",
    "gymnasium": "https://gymnasium.farama.org/",
    "pandas": "https://pandas.pydata.org/docs/",
    "joblib": "https://joblib.readthedocs.io/en/stable/",
    "matplotlib": "https://matplotlib.org/stable/",
}
intersphinx_mapping = {
    name: (url, os.path.join(os.path.dirname(__file__), "_intersphinx", f"{name}-objects.inv"))
    for name, url in _INVENTORIES.items()
}
# Types in numpydoc's Parameters and Returns sections become links.
numpydoc_xref_param_type = True
numpydoc_xref_aliases = {
    "ndarray": "numpy.ndarray",
    "array-like": ":term:`array-like <sklearn:array-like>`",
    "DataFrame": "pandas.DataFrame",
    "Pipeline": "sklearn.pipeline.Pipeline",
    "GridSearchCV": "sklearn.model_selection.GridSearchCV",
    "GroupKFold": "sklearn.model_selection.GroupKFold",
    "Bunch": "sklearn.utils.Bunch",
    "RandomState": "numpy.random.RandomState",
    "gymnasium.Env": "gymnasium.Env",
    "Env": "gymnasium.Env",
    "VectorEnv": "gymnasium.vector.VectorEnv",
    "nn.Module": "torch.nn.Module",
    "torch.device": "torch.device",
    "Axes": "matplotlib.axes.Axes",
    "Figure": "matplotlib.figure.Figure",
    "Demonstrations": "sklearn_il.datasets.Demonstrations",
    "MLPRegressor": "sklearn.neural_network.MLPRegressor",
    "MLPClassifier": "sklearn.neural_network.MLPClassifier",
    "GroupShuffleSplit": "sklearn.model_selection.GroupShuffleSplit",
    "imblearn.pipeline.Pipeline": "imblearn.pipeline.Pipeline",
    "torch.nn.Module": "torch.nn.Module",
    "skorch.NeuralNet": "skorch.NeuralNet",
}
numpydoc_xref_ignore = {
    "of", "shape", "default", "or", "and", "optional", "the", "n_samples", "n_features",
    "n_outputs", "n_action_dims", "n_steps", "n_episodes", "n_rows", "n_classes", "n_layers",
    "n_features_in_", "n_features_out", "estimator", "callable", "object", "instance", "in",
    "with", "a", "an", "None", "path-like", "str", "int", "float", "bool", "dict", "list",
    "tuple", "function", "file-like", "scalar", "positive", "non-negative",
}

sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    # The sections in the order of the user guide.
    "subsection_order": ["../examples/policies", "../examples/compounding_error",
                         "../examples/frontiers", "../examples/data_scale_deployment"],
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


# Names other projects document, written as literals in docstrings
# (``GridSearchCV``): the API pages link them to those projects' pages.
_LINKED_LITERALS = {
    name: target for name, target in numpydoc_xref_aliases.items()
    if name[0].isupper() or "." in name
}
# A call keeps its arguments in the link's text: ``GroupKFold(5)``.
_LITERAL = re.compile(r"``(%s)(\([^`]*\))?``" % "|".join(
    map(re.escape, sorted(_LINKED_LITERALS, key=len, reverse=True))))


def _link_other_projects_names(app, what, name, obj, options, lines):
    lines[:] = [_LITERAL.sub(lambda m: f":obj:`{m[1]}{m[2] or ''} <{_LINKED_LITERALS[m[1]]}>`",
                             line) for line in lines]


def setup(app):
    app.connect("autodoc-process-docstring", _scikit_learn_labels_as_text)
    app.connect("autodoc-process-docstring", _link_other_projects_names)
