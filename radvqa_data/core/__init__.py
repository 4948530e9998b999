"""What the three packages share: the data contract and the plumbing around it.

`radvqa_data`, `radvqa_train` and `radvqa_diag` meet here and nowhere else (besides
`radvqa_data.reader`). One home per concept, imported everywhere else:

- `errors`: typed errors shown to a user as one line;
- `atomic`: write to a temporary name, then rename;
- `paths`: default locations;
- `db`: the catalog connection and its core tables;
- `schema`: the QA row and the predictions row, declared once;
- `cli`: Typer plumbing (one `Error:` line, Ctrl-C, the shared options).

A module here imports nothing from the rest of the project, so that any step can use it
without pulling in another step.
"""
