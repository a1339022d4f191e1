"""Solution regions become stubs; files merge into one upload; markers are checked."""
from pathlib import Path

import pytest

from autograder.assign.markers import MarkerError, find_regions, make_stub, solution_lines

pytestmark = pytest.mark.unit

SOURCE = '''import torch


def given(x):
    return x + 1


def todo(x):
    """Docstring stays."""
    ### BEGIN SOLUTION
    y = x * 2
    return y
    ### END SOLUTION


class Thing:
    def method(self):
        ### BEGIN SOLUTION
        return 42
        ### END SOLUTION
'''


def test_stub_replaces_each_region_and_names_function_and_problem():
    stub = make_stub(SOURCE, Path("s.py"), {"Thing": "thing_problem"})
    assert "x * 2" not in stub and "return 42" not in stub
    assert "raise NotImplementedError('todo is not written yet: see the handout')" in stub
    assert "Thing.method (problem 'thing_problem') is not written yet" in stub
    assert '"""Docstring stays."""' in stub and "return x + 1" in stub
    namespace = {}
    exec(compile(stub, "stub", "exec"), namespace)
    with pytest.raises(NotImplementedError):
        namespace["todo"](1)


@pytest.mark.parametrize(
    "text, where",
    [
        ("def f():\n    ### BEGIN SOLUTION\n    ### BEGIN SOLUTION\n    pass\n    ### END SOLUTION\n", "s.py:3"),
        ("def f():\n    ### BEGIN SOLUTION\n    pass\n", "s.py:2"),
        ("def f():\n    pass\n    ### END SOLUTION\n", "s.py:3"),
        ("### BEGIN SOLUTION\nx = 1\n### END SOLUTION\n", "s.py:1"),
        ("def f():\n    ### BEGIN SOLUTON\n    pass\n", "s.py:2"),
    ],
)
def test_bad_markers_name_file_and_line(text, where):
    with pytest.raises(MarkerError, match=where):
        find_regions(text, Path("s.py"))


def test_solution_lines_skip_lines_that_given_code_repeats():
    text = "def f(x):\n    return x + 1\n\ndef g(x):\n    ### BEGIN SOLUTION\n    return x + 1\n    y = secret_formula(x)\n    ### END SOLUTION\n"
    assert solution_lines(text, Path("s.py")) == ["y = secret_formula(x)"]


