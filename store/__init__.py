"""Persistence: tables, engine and sessions, queries and state transitions, migrations.

This package is the only place that writes SQL.
"""
