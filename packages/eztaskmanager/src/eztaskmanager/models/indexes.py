"""An index in an order that puts NULLs last in its descending keys, on every database.

The task list's default order, last run first and never-run tasks last, is
``F("cached_last_invocation_datetime").desc(nulls_last=True)``. PostgreSQL sorts NULLs as
the largest values: only an index that says ``NULLS LAST`` gives that order without
sorting every task. SQLite sorts them as the smallest, so a plain descending key already
puts them last, and it refuses ``NULLS LAST`` in an index.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.db.models.expressions import OrderBy


class NullsLastIndex(models.Index):
    """A :class:`~django.db.models.Index` of expressions, written without ``NULLS LAST``
    where NULLs sort as the smallest values, whose descending keys put them last anyway."""

    def create_sql(
        self, model: type[models.Model], schema_editor: Any, using: str = "", **kwargs: Any
    ) -> Any:
        if schema_editor.connection.features.nulls_order_largest:
            return super().create_sql(model, schema_editor, using, **kwargs)
        plain = self.clone()
        plain.expressions = tuple(_without_nulls_last(key) for key in self.expressions)
        return models.Index.create_sql(plain, model, schema_editor, using, **kwargs)


def _without_nulls_last(key: Any) -> Any:
    if not (isinstance(key, OrderBy) and key.nulls_last):
        return key
    if not key.descending:
        raise ValueError(
            f"{key!r}: an ascending key puts NULLs first where they sort smallest; "
            "NullsLastIndex cannot write it without NULLS LAST."
        )
    plain = key.copy()
    plain.nulls_last = None
    return plain
