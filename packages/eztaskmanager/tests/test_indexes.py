"""An index of the task list's order says NULLS LAST only where the database needs it."""

import pytest
from django.db import connection
from django.db.models import F

from eztaskmanager.models import Task
from eztaskmanager.models.indexes import NullsLastIndex


def create_sql(index: NullsLastIndex) -> str:
    return str(index.create_sql(Task, connection.schema_editor()))


def list_order_index() -> NullsLastIndex:
    (index,) = [i for i in Task._meta.indexes if i.name == "eztm_task_list_order_idx"]
    return index


def test_the_key_says_nulls_last_where_nulls_sort_largest():
    sql = create_sql(list_order_index())
    if connection.features.nulls_order_largest:  # PostgreSQL
        assert '"cached_last_invocation_datetime" DESC NULLS LAST, "name", "id" DESC' in sql
    else:  # SQLite: a descending key puts NULLs last by itself, and NULLS LAST is refused
        assert '"cached_last_invocation_datetime" DESC, "name", "id" DESC' in sql
    # The model's index is left as it was declared (migrations compare it).
    assert list_order_index().expressions[0].nulls_last is True


@pytest.mark.skipif(connection.features.nulls_order_largest, reason="NULLS LAST is written")
def test_an_ascending_key_with_nulls_last_cannot_be_written_without_it():
    index = NullsLastIndex(F("cached_next_ride").asc(nulls_last=True), name="eztm_x_idx")
    with pytest.raises(ValueError, match="ascending key puts NULLs first"):
        create_sql(index)
