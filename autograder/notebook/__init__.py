"""The notebook route: an nbgrader course built from the same reference solutions.

``build`` writes ``release/<a>/nbgrader/``, an nbgrader course directory whose one notebook holds
the handout, the solution files split into given cells and answer (solution) cells, one test cell
per problem and an export cell (whose body, like the reading of an uploaded notebook, lives in
``autograder.uploads``, below this package and ``grade``). Every test cell's hidden part asks the Gradescope grader (a copy in
``grader/``, run in a subprocess on the notebook file) for that problem's score, so a notebook and
an upload of the same code get the same score on every problem.

Files, one concept each:
- ``layout``: a Python file as top-level chunks (imports, definitions), solution regions marked.
- ``visible``: the visible tests of each problem, as test-cell code.
- ``checks``: the helper cell that runs them in the student's kernel and explains failures.
- ``cells``: nbformat v4 cells with nbgrader metadata, written deterministically.
- ``course``: the notebook and the course directory, as file name -> bytes.
- ``kernel``: what a test cell's hidden part calls in the kernel.
- ``score``: the grader subprocess that ``kernel`` runs.
"""
