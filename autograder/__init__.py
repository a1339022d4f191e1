"""Autograder for a unit on Transformers: build releases, grade uploads in a sandbox.

Stages, one subpackage each: ``assign`` (solution regions, stubs, export), ``checking`` (the
hidden-test toolkit), ``sandbox`` (the untrusted child and its wire format), ``grade`` (run the
checks, write results.json), ``build`` (releases, proven before written), ``notebook`` (the
same assignment as an nbgrader course).
"""
