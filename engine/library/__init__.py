"""The strategy library: what users keep, edit, version, share and export.

Framework-free like the rest of ``engine``: functions take a SQLAlchemy session
and never commit, so the caller (a view or a task) decides the transaction.
"""
