"""Hot statements compiled to SQL once, then run with new values.

Every Start, and every run's start and end, locks its task with one statement that joins
the command (and, at a run's start, the run) and reads a few facts of the task's runs
beside it; every batch of log lines locks its report. Django builds and compiles such a
queryset in about 1.2 ms, fifteen times what the statement itself costs on a local
PostgreSQL (``benchmarks/dispatch_*.py``).

A :class:`CompiledRead` lets Django compile the queryset once per connection, built
with *marker* values in place of the ones that change (a task's id, a job id), finds
the markers among the statement's parameters, and afterwards swaps in the real values
and runs the same SQL (prepared by the server where the project allows it:
:mod:`eztaskmanager.models.prepared`). The row becomes model instances as Django's own
iteration makes them: the same converters, ``select_related`` instances and annotations.
A :class:`CompiledRows` reads many rows the same way (a page of log lines).

The same runs change their rows with a few UPDATEs each, where Django spends as long
building the statement as the database spends running it: :func:`update_rows` writes
the SQL of such an UPDATE once for its shape, and prepares each value as Django would;
:func:`touch_row` writes a row unchanged, SQLite's stand-in for a row lock, the same way.
Every Start adds two rows, its run's report and its audit event: :func:`insert_row`
writes a model's INSERT once, and saves a new instance with it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from typing import Any

from django.db import connections, models, router, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Field
from django.db.models.fields import AutoFieldMixin
from django.db.models.query import get_related_populators
from django.db.models.signals import post_save, pre_save

from eztaskmanager.models.prepared import hot_cursor
from eztaskmanager.models.writes import Write, write_together

# Values no real row has: negative ids (within every integer field's range, else Django
# knows the lookup is empty and leaves it out of the SQL), job ids with NULs. A positive
# field (a log line's number) takes positive markers, within its range too.
INT_MARKERS = (-1_318_006_411, -1_318_006_412)
POSITIVE_INT_MARKERS = (2_118_006_411, 2_118_006_412)
STR_MARKERS = ("\x00eztaskmanager-marker-1\x00", "\x00eztaskmanager-marker-2\x00")
# The widest integers a database stores (a BigIntegerField's): beyond them no row matches.
BIGINT_RANGE = range(-(2**63), 2**63)
# The attribute of a connection that holds the reads compiled for it.
COMPILED_READS = "_eztaskmanager_compiled_reads"


@dataclass
class _Statement:
    """A queryset compiled for one connection, and how to read its row."""

    compiler: Any
    sql: str
    params: list[Any]
    slots: dict[str, int]
    converters: dict[int, Any]
    # How the row becomes an instance; no model: the row is the result (values_list()).
    model: type[models.Model] | None = None
    fields: slice = field(default_factory=lambda: slice(0))
    init_list: list[str] = field(default_factory=list)
    populators: list[Any] = field(default_factory=list)
    annotations: dict[str, int] = field(default_factory=dict)


class CompiledRead:
    """A read of at most one row, compiled once per connection (see the module's docstring).

    ``build(using, **values)`` returns the queryset; ``markers`` names its changing values
    and gives each a marker of its type (:data:`INT_MARKERS`, :data:`STR_MARKERS`).
    Compiling a ``select_for_update()`` queryset must happen inside a transaction, as
    running it must.
    """

    def __init__(self, build: Callable[..., models.QuerySet], **markers: Any) -> None:
        self.build = build
        self.markers = markers

    def first(self, using: str, **values: Any) -> models.Model | tuple | None:
        """The first row with ``values`` in place of the markers, as a model instance (or,
        read by a ``values_list()`` queryset, as the tuple of its values)."""
        statement, params = self._bound(using, values)
        if params is None:
            return None
        with hot_cursor(connections[using]) as cursor:
            cursor.execute(statement.sql, params)
            row = cursor.fetchone()
        if row is None:
            return None
        if statement.converters:
            row = next(statement.compiler.apply_converters([row], statement.converters))
        if statement.model is None:
            return tuple(row)
        instance = statement.model.from_db(using, statement.init_list, row[statement.fields])
        for populator in statement.populators:
            populator.populate(row, instance)
        for name, position in statement.annotations.items():
            setattr(instance, name, row[position])
        return instance

    def _bound(self, using: str, values: dict[str, Any]) -> tuple[_Statement, list[Any] | None]:
        """The statement compiled for ``using``, and its parameters with ``values`` in
        place of the markers (``None``: a value no row can have)."""
        statement = compiled_reads(connections[using]).get(self) or self.compile_for(using)
        params = list(statement.params)
        for name, position in statement.slots.items():
            value = params[position] = values[name]
            if isinstance(value, int) and value not in BIGINT_RANGE:
                return statement, None  # as Django's lookups know (SQLite would raise)
        return statement, params

    def compile_for(self, using: str) -> _Statement:
        """Compile the read for the connection ``using`` names in this thread, once."""
        statements = compiled_reads(connections[using])
        statement = statements.get(self)
        if statement is None:
            statement = statements[self] = self._compile(using)
        return statement

    def _compile(self, using: str) -> _Statement:
        queryset = self._shaped(self.build(using, **self.markers))
        compiler = queryset.query.get_compiler(using=using)
        sql, params = compiler.as_sql()
        params = list(params)
        slots = {}
        for name, marker in self.markers.items():
            positions = [i for i, param in enumerate(params) if param == marker]
            if len(positions) != 1:
                raise RuntimeError(
                    f"The marker of {name!r} is {len(positions)} times among the parameters"
                    f" of {sql!r}: this read cannot be compiled ahead."
                )
            slots[name] = positions[0]
        select, klass_info = compiler.select, compiler.klass_info
        converters = compiler.get_converters([column[0] for column in select])
        if queryset._fields is not None:  # values_list(): the row is the result
            query = queryset.query
            columns = [*query.extra_select, *query.values_select, *query.annotation_select]
            if list(queryset._fields or columns) != columns:
                raise RuntimeError(
                    f"values_list{queryset._fields} reads its columns as {tuple(columns)}:"
                    " name them in that order to compile it ahead."
                )
            return _Statement(compiler, sql, params, slots, converters)
        fields = klass_info["select_fields"]
        start, end = fields[0], fields[-1] + 1
        return _Statement(
            compiler=compiler,
            sql=sql,
            params=params,
            slots=slots,
            converters=converters,
            model=klass_info["model"],
            fields=slice(start, end),
            init_list=[column[0].target.attname for column in select[start:end]],
            populators=get_related_populators(klass_info, select, using),
            annotations=dict(compiler.annotation_col_map or {}),
        )

    def _shaped(self, queryset: models.QuerySet) -> models.QuerySet:
        """What ``QuerySet.first()`` runs."""
        return (queryset if queryset.ordered else queryset.order_by("pk"))[:1]


class CompiledRows(CompiledRead):
    """A ``values_list()`` read of many rows, compiled once per connection as
    :class:`CompiledRead` is: a page of log lines, which the live viewer asks for every
    second, where building and compiling the queryset cost as long as reading the page.
    """

    def all(self, using: str, **values: Any) -> list[tuple]:
        """Every row with ``values`` in place of the markers, as tuples."""
        statement, params = self._bound(using, values)
        if params is None:
            return []
        if statement.model is not None:
            raise TypeError("CompiledRows reads values_list() querysets; use CompiledRead.")
        with hot_cursor(connections[using]) as cursor:
            cursor.execute(statement.sql, params)
            rows = cursor.fetchall()
        if statement.converters:
            return [
                tuple(row)
                for row in statement.compiler.apply_converters(rows, statement.converters)
            ]
        return rows

    def _shaped(self, queryset: models.QuerySet) -> models.QuerySet:
        return queryset  # every row, in the queryset's own order


def compiled_reads(connection: BaseDatabaseWrapper) -> dict[CompiledRead, _Statement]:
    """The reads compiled for ``connection``, kept on it.

    A compiled read refers to its connection (Django's compiler does, and so may its
    converters), so a cache beside the connection, even one with weak keys, would keep
    every connection it ever saw: a run's helper thread and each spare connection make a
    new one. Kept on the connection, the two go together once it is dropped.
    """
    statements = getattr(connection, COMPILED_READS, None)
    if statements is None:
        statements = {}
        setattr(connection, COMPILED_READS, statements)
    return statements


def compile_ahead(connection: BaseDatabaseWrapper, reads: Iterable[CompiledRead]) -> None:
    """Compile ``reads`` for ``connection``, a connection not in use yet.

    An RQ worker opens the database connection of its next work-horse ahead of time
    (``eztaskmanager_rq.handover``); compiled there, the reads are ready in every
    work-horse forked with it, instead of compiled again in each one. Nothing is sent
    to the database: the transaction only lets ``select_for_update()`` reads compile,
    and where the database has no row locks (SQLite) there is none, so not even a
    connection is opened.
    """
    alias = connection.alias
    locking = connection.features.has_select_for_update
    with lent(connection), transaction.atomic(using=alias) if locking else nullcontext():
        for read in reads:
            read.compile_for(alias)


@contextmanager
def lent(connection: BaseDatabaseWrapper) -> Iterator[None]:
    """Make ``connection`` (one opened aside, by ``connections.create_connection()``) its
    alias's connection in this thread for a while, as if it were the usual one."""
    alias = connection.alias
    current = connections[alias]
    connections[alias] = connection
    try:
        yield
    finally:
        connections[alias] = current


@dataclass(frozen=True)
class _Update:
    """The SQL of one shape of UPDATE, and the fields whose values it takes, in order."""

    sql: str
    fields: tuple[Field, ...]
    where: tuple[Field, ...]


_UPDATES: dict[tuple, _Update] = {}


def update_rows(
    model: type[models.Model],
    where: dict[str, Any],
    values: dict[str, Any] | None = None,
    increments: dict[str, int] | None = None,
    using: str | None = None,
) -> int:
    """``model.objects.filter(**where).update(**values)``, without building it each time.

    ``where``: exact values (never ``None``) of fields (``pk`` for the primary key), all
    of which a row must have; ``values``: plain values (no expressions), model instances
    for foreign keys; ``increments``: ``{name: n}`` adds ``n`` to the field, as
    ``F(name) + n`` does; ``using``: the database (the model's for writes by default).
    Returns the number of rows changed. The SQL is written once for each shape (the
    fields named, the database vendor); each value is prepared by its field as Django's
    UPDATE prepares it.
    """
    using = using or router.db_for_write(model)
    return write_together(using, [update_write(model, where, values, increments, using)])[0]


def update_write(
    model: type[models.Model],
    where: dict[str, Any],
    values: dict[str, Any] | None = None,
    increments: dict[str, int] | None = None,
    using: str | None = None,
) -> Write | None:
    """The UPDATE :func:`update_rows` runs, to run with others
    (:func:`~eztaskmanager.models.writes.write_together`); ``None`` when no row can match."""
    using = using or router.db_for_write(model)
    connection = connections[using]
    values = values or {}
    increments = increments or {}
    key = (model, connection.vendor, tuple(where), tuple(values), tuple(increments))
    update = _UPDATES.get(key)
    if update is None:
        update = _UPDATES[key] = _compile_update(connection, model, *key[2:])
    params = [
        model_field.get_db_prep_save(_saved(model_field, value), connection)
        for model_field, value in zip(update.fields, values.values(), strict=True)
    ]
    params += increments.values()
    for model_field, value in zip(update.where, where.values(), strict=True):
        if isinstance(value, int) and value not in BIGINT_RANGE:
            return None  # as Django's lookups know: no row has it (SQLite would raise)
        params.append(model_field.get_db_prep_value(value, connection))
    return Write(update.sql, params)


_TOUCHES: dict[tuple, str] = {}


def touch_row(model: type[models.Model], pk: int, field_name: str, using: str) -> bool:
    """Write the field ``field_name`` of the row ``pk`` unchanged; return whether the row exists.

    On a database without row locks (SQLite) the write takes the database's write lock,
    held until the transaction ends: it stands for the row lock the others take.
    """
    connection = connections[using]
    key = (model, connection.vendor, field_name)
    sql = _TOUCHES.get(key)
    if sql is None:
        meta, quote = model._meta, connection.ops.quote_name
        column = quote(meta.get_field(field_name).column)
        sql = _TOUCHES[key] = (
            f"UPDATE {quote(meta.db_table)} SET {column} = {column}"
            f" WHERE {quote(meta.pk.column)} = %s"
        )
    if pk not in BIGINT_RANGE:
        return False  # no row has it (SQLite would raise)
    with transaction.mark_for_rollback_on_error(using), hot_cursor(connection) as cursor:
        cursor.execute(sql, [pk])
        return cursor.rowcount > 0


def _saved(model_field: Field, value: Any) -> Any:
    """``value`` as Django's UPDATE passes it to ``field.get_db_prep_save()``."""
    if hasattr(value, "resolve_expression"):
        raise TypeError(f"update_rows() takes no expression ({model_field.name}={value!r}).")
    if hasattr(value, "prepare_database_save"):  # a model instance, for a foreign key
        return value.prepare_database_save(model_field)
    return value


def _compile_update(
    connection: BaseDatabaseWrapper,
    model: type[models.Model],
    where: tuple[str, ...],
    values: tuple[str, ...],
    increments: tuple[str, ...],
) -> _Update:
    """Write ``UPDATE table SET col = %s, ..., col = col + %s WHERE col = %s AND ...``."""
    if not where or not (values or increments):
        raise ValueError("update_rows() needs a condition and a field to change.")
    meta, quote = model._meta, connection.ops.quote_name
    fields = tuple(meta.get_field(name) for name in values)
    for model_field in fields:
        if hasattr(model_field, "get_placeholder"):  # its value is not a plain %s
            raise TypeError(
                f"update_rows() cannot write {model_field.name}: use QuerySet.update()."
            )
    conditions = tuple(meta.pk if name == "pk" else meta.get_field(name) for name in where)
    changes = [f"{quote(model_field.column)} = %s" for model_field in fields]
    for name in increments:
        column = quote(meta.get_field(name).column)
        changes.append(f"{column} = {column} + %s")
    matches = [f"{quote(model_field.column)} = %s" for model_field in conditions]
    sql = f"UPDATE {quote(meta.db_table)} SET {', '.join(changes)} WHERE {' AND '.join(matches)}"
    return _Update(sql, fields, conditions)


@dataclass(frozen=True)
class _Insert:
    """The SQL of a model's INSERT, the fields whose values it takes, and whether it
    returns the new primary key (else the database's last id is read)."""

    sql: str
    fields: tuple[Field, ...]
    returns_pk: bool


_INSERTS: dict[tuple, _Insert | None] = {}
# Where an INSERT's new id comes back as a row of ``RETURNING`` or as the cursor's last
# id; elsewhere (Oracle's ``RETURNING ... INTO``) Django's save() writes the row.
INSERT_VENDORS = ("postgresql", "sqlite", "mysql")


def insert_row(instance: models.Model, using: str | None = None) -> models.Model:
    """``instance.save(force_insert=True)`` for a new ``instance``, without building the
    INSERT each time; return ``instance``.

    Each value is prepared by its field as Django's INSERT prepares it (``pre_save()``
    with ``add``, ``get_db_prep_save()``). Django's ``save()`` does it instead, so that
    nothing changes for them, when someone listens to the model's ``pre_save`` or
    ``post_save`` signals, when the instance has an id already or its model no
    automatic one, for a model with parents, on a database not in
    :data:`INSERT_VENDORS`, and when a value is an expression (a ``db_default``).
    """
    model = type(instance)
    meta = model._meta
    using = using or router.db_for_write(model, instance=instance)
    connection = connections[using]
    # Whether the id comes back as a row differs within a vendor (MySQL and MariaDB).
    returns_pk = connection.features.can_return_columns_from_insert
    key = (model, connection.vendor, returns_pk)
    if key not in _INSERTS:
        _INSERTS[key] = _compile_insert(connection, model, returns_pk)
    insert = _INSERTS[key]
    listened = pre_save.has_listeners(model) or post_save.has_listeners(model)
    if insert is None or listened or instance.pk is not None:
        instance.save(force_insert=True, using=using)
        return instance
    values = [model_field.pre_save(instance, True) for model_field in insert.fields]
    if any(hasattr(value, "resolve_expression") for value in values):
        instance.save(force_insert=True, using=using)
        return instance
    params = [
        model_field.get_db_prep_save(value, connection)
        for model_field, value in zip(insert.fields, values, strict=True)
    ]
    with transaction.mark_for_rollback_on_error(using), hot_cursor(connection) as cursor:
        cursor.execute(insert.sql, params)
        if insert.returns_pk:
            (pk,) = cursor.fetchone()
        else:
            pk = connection.ops.last_insert_id(cursor, meta.db_table, meta.pk.column)
    instance.pk = pk
    instance._state.adding = False
    instance._state.db = using
    return instance


def _compile_insert(
    connection: BaseDatabaseWrapper, model: type[models.Model], returns_pk: bool
) -> _Insert | None:
    """Write ``INSERT INTO table (col, ...) VALUES (%s, ...) [RETURNING pk]``; ``None``
    for a model that only Django's ``save()`` writes right (see :func:`insert_row`)."""
    meta, quote = model._meta, connection.ops.quote_name
    if connection.vendor not in INSERT_VENDORS:
        return None
    if meta.parents or not isinstance(meta.pk, AutoFieldMixin):
        return None
    fields = tuple(f for f in meta.local_concrete_fields if f is not meta.pk)
    if any(hasattr(model_field, "get_placeholder") for model_field in fields):
        return None  # a value that is not a plain %s
    columns = ", ".join(quote(model_field.column) for model_field in fields)
    placeholders = ", ".join(["%s"] * len(fields))
    sql = f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES ({placeholders})"
    if returns_pk:
        sql += f" RETURNING {quote(meta.pk.column)}"
    return _Insert(sql, fields, returns_pk)
