"""Every docstring's Examples section runs and prints what it shows; every
public method of an estimator documents its parameters and what it returns."""

import doctest
import importlib
import inspect
import pkgutil

import pytest

import sklearn_il

MODULES = sorted(
    name
    for _, name, _ in pkgutil.walk_packages(sklearn_il.__path__, "sklearn_il.")
    if name != "sklearn_il.__main__"
)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0


def _sections(doc):
    """numpydoc section titles: a line underlined by as many dashes."""
    lines = [line.strip() for line in (doc or "").splitlines()]
    return {a for a, b in zip(lines, lines[1:]) if a and b == "-" * len(a)}


def _own_public_methods(cls):
    """Public methods the library itself defines (inherited ones from
    scikit-learn, such as ``get_params``, carry scikit-learn's docstrings)."""
    for name, member in inspect.getmembers(cls, inspect.isfunction):
        if not name.startswith("_") and member.__module__.startswith("sklearn_il"):
            yield name, member


@pytest.mark.parametrize("name", sklearn_il.__all__)
def test_every_public_method_has_parameters_and_returns(name):
    """The API reference shows each estimator's methods, inherited ones too
    (``fit`` lives on the base classes); each says what it takes and returns."""
    cls = getattr(sklearn_il, name)
    methods = dict(_own_public_methods(cls))
    assert "fit" in methods
    for method, function in methods.items():
        sections = _sections(inspect.getdoc(function))
        takes = [p for p in inspect.signature(function).parameters if p != "self"]
        assert not takes or "Parameters" in sections, f"{name}.{method}: no Parameters"
        assert "Returns" in sections, f"{name}.{method}: no Returns"
