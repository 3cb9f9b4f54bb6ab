"""The protocol core: pure Matrix types and algorithms, with no I/O.

Nothing in this package imports from the rest of ``sceau``; it is the part
that must be exactly right, so it is kept small, pure and mypy-strict.
"""
