"""Raw SQL in migrations that only the PostgreSQL schema needs.

Hand-written migrations use this for what the ORM cannot express (partition keys,
triggers, index choices); the SQLite demo database keeps Django's own schema.
"""

from django.db import migrations


def postgresql_only(forward: list[str], backward: list[str]) -> migrations.RunPython:
    """A migration operation running ``forward`` (or, reversed, ``backward``)
    statement by statement on PostgreSQL, and nothing elsewhere."""

    def run(statements):
        def apply(apps, schema_editor):
            if schema_editor.connection.vendor != "postgresql":
                return
            with schema_editor.connection.cursor() as cursor:
                for statement in statements:
                    cursor.execute(statement)

        return apply

    return migrations.RunPython(run(forward), run(backward))
