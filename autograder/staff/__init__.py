"""Course-staff tooling for after the deadline: regrade a whole class (on one machine or in shards), report on it.

- ``submissions``: find the submissions in a folder (one per subfolder or file, or a Gradescope
  "export submissions" download named by its ``submission_metadata.yml``).
- ``pool``: worker processes that grade one submission at a time and can be stopped on a deadline.
- ``state``: the resumable per-submission results kept in a folder next to the CSV.
- ``regrade``: grade every submission (each in its own sandbox), in parallel, into one CSV.
- ``report``: the class report, one self-contained HTML page with embedded plots.
- ``shards``: split a regrade into N shards (``regrade --shard K/N``) and merge their states.
- ``nbgrader_grades``: per-problem scores from an nbgrader course's gradebook, in the same CSV.
"""
