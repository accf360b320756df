"""Every docstring's Examples section runs and prints what it shows."""

import doctest
import importlib
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
