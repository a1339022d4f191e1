"""Test helpers: run a problem's visible checks in this notebook and explain what failed.

Each test cell below calls ``_visible_checks``. A failure is explained the way the Gradescope
grader explains one: what was called and what it raised (with the lines of your code involved),
or what came back and what was expected. The hidden tests, run when you submit, check much more.
This cell is not part of your upload; it only has to run before the test cells. (Its imports are
inside the functions, so that your own cells cannot come to rely on them by accident.)
"""
_VCK_PROBLEM_OF = {}  # a graded name -> its problem id; the build fills this in
_VCK_OPERATORS = {"Eq": "", "NotEq": "different from ", "Lt": "< ", "LtE": "<= ", "Gt": "> ", "GtE": ">= ", "Is": "", "In": "in "}


class _VisibleChecksFailed(AssertionError):
    """Shown by IPython as its message alone: the message already says what went wrong and where."""

    def _render_traceback_(self):
        return str(self).splitlines()


def _vck_short(value):
    text = repr(value)
    return text if len(text) <= 300 else text[:300] + "..."


def _vck_compare(test, frame, lineno):
    """'left is X, but should be Y' for a failed ``assert left == right``: what pytest would show."""
    import ast
    import inspect
    import textwrap

    try:
        lines, first = inspect.getsourcelines(test)
        source = textwrap.dedent("".join(lines))
        tree = ast.parse(source)
    except (OSError, TypeError, SyntaxError):
        return ""
    for node in ast.walk(tree):
        if isinstance(node, ast.Assert) and node.lineno + first - 1 == lineno and isinstance(node.test, ast.Compare):
            operator = type(node.test.ops[0]).__name__
            if len(node.test.ops) != 1 or operator not in _VCK_OPERATORS:
                return ""
            left = ast.get_source_segment(source, node.test.left)
            right = ast.get_source_segment(source, node.test.comparators[0])
            try:
                left_value = eval(left, frame.f_globals, frame.f_locals)  # noqa: S307 - the test's own expression
                right_value = eval(right, frame.f_globals, frame.f_locals)  # noqa: S307
            except Exception:  # noqa: BLE001 - no detail then; the failed line is still shown
                return ""
            return f"{left} is {_vck_short(left_value)}, but should be {_VCK_OPERATORS[operator]}{_vck_short(right_value)}"
    return ""


def _vck_explain(exc, test):
    """What the student needs to know about one failed check."""
    import traceback

    tb, test_tb, last = exc.__traceback__, None, None
    while tb is not None:
        if tb.tb_frame.f_code is test.__code__:
            test_tb = tb
        last, tb = tb, tb.tb_next
    summary = traceback.extract_tb(test_tb) if test_tb is not None else []
    statement = (summary[0].line or "").strip() if summary else ""
    if test_tb is not None and test_tb is last and isinstance(exc, AssertionError):
        details = [str(exc), _vck_compare(test, test_tb.tb_frame, test_tb.tb_lineno)]
        return "".join(d + "\n" for d in details if d) + f"failed: {statement}"
    if isinstance(exc, NotImplementedError) and (not str(exc) or "not written yet" in str(exc)) and last is not None:
        where = last.tb_frame.f_code.co_qualname
        owner = _VCK_PROBLEM_OF.get(where.split(".")[0])
        where += f" (problem '{owner}')" if owner else ""
        return (
            f"calling `{statement}` raised NotImplementedError: {where} is not written yet: "
            "replace the `raise NotImplementedError(...)` line in its answer cell with your code (see the handout above), "
            "run that cell, then this one."
        )
    trace = "".join(traceback.format_list(summary[1:])).rstrip().splitlines()[-8:]
    message = f"calling `{statement}` raised {type(exc).__name__}: {exc}"
    return message + ("\n" + "\n".join(trace) if trace else "")


def _visible_checks(problem, title, symbols, tests):
    """Run ``tests`` (functions) of ``problem``; raise one error that explains every failure."""
    import os
    import textwrap

    if os.environ.get("NBGRADER_EXECUTION") == "autograde":
        print(f"{title}: the visible checks do not run while nbgrader autogrades; the hidden tests give the score.")
        return None
    missing = [name for name in symbols if name not in globals()]
    if missing:
        raise _VisibleChecksFailed(
            f"{title}: your notebook defines no {', '.join(missing)}: run the cell that defines it "
            "(cells run from top to bottom) and check the spelling."
        )
    if not tests:
        print(f"{title}: {', '.join(symbols)} defined. This problem has no visible checks; the hidden tests check it when you submit.")
        return None
    report, failed = [], 0
    for test in tests:
        try:
            test()
        except Exception as exc:  # noqa: BLE001 - every failure of a check is that check's verdict
            failed += 1
            report.append(f"{test.__name__}: failed\n" + textwrap.indent(_vck_explain(exc, test), "  "))
        else:
            report.append(f"{test.__name__}: passed")
    if failed:
        raise _VisibleChecksFailed(f"{title} ({problem}): {failed} of {len(tests)} visible checks failed.\n\n" + "\n".join(report))
    print(f"{title}: {len(tests)} of {len(tests)} visible checks passed. The hidden tests check much more when you submit.")
    return None
