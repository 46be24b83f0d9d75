"""Read-your-writes: the databases a request (or task) wrote to, and how far.

Every statement Django runs goes through an execute wrapper installed on each
connection; a statement that is not a plain read (see READS) marks that
database alias as written, whichever router chose it and whether it came
from the ORM or from connection.cursor(). The WAL position is taken lazily,
with pg_current_wal_lsn() on the written database, when a read first needs
it: by then the write has committed, so the position is at or after its
commit record, and only standbys that replayed it may serve the read.

The marks live in a context variable. request_scope() (and the middleware,
which uses it) starts with none and forgets them when the request ends.
Outside any scope, marks accumulate for the current thread or task: its reads
keep waiting for its own last write, which costs nothing once the standbys
have replayed it.
"""
import contextlib
import contextvars

from django.db import connections
from django.db.backends.signals import connection_created

# First words of the statements that never need a later read to wait for them.
# Anything else (INSERT, UPDATE, DELETE, WITH, DDL, COPY, ...) counts as a write.
# A SELECT that writes through a function is not seen: call note_write().
READS = frozenset({"select", "show", "set", "reset", "savepoint", "release", "rollback", "values", "fetch"})

# position() when the write may not have committed yet: read from that database itself
UNCOMMITTED = object()


class Writes:
    """Written aliases -> WAL position text (None until a read takes it)."""

    def __init__(self):
        self.lsn = {}


_current = contextvars.ContextVar("shardroute_writes", default=None)


def note_write(alias):
    """Marks `alias` as written (for writes the execute wrapper cannot see)."""
    writes = _current.get()
    if writes is None:
        writes = Writes()
        _current.set(writes)
    writes.lsn[alias] = None


def position(alias):
    """What a read of data written through `alias` must wait for: None (no write
    in this scope), UNCOMMITTED (the write's transaction is still open on this
    thread's connection) or the WAL position the write reached."""
    writes = _current.get()
    if writes is None or alias not in writes.lsn:
        return None
    if writes.lsn[alias] is None:
        connection = connections[alias]
        if connection.in_atomic_block or not connection.get_autocommit():
            return UNCOMMITTED
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_current_wal_lsn()::text")
            writes.lsn[alias] = cursor.fetchone()[0]
    return writes.lsn[alias]


@contextlib.contextmanager
def request_scope():
    """Reads inside see the writes made inside; the marks end with the block."""
    token = _current.set(Writes())
    try:
        yield
    finally:
        _current.reset(token)


def is_read(sql):
    words = sql.lstrip(" \t\r\n(").split(None, 1) if isinstance(sql, str) else []
    return bool(words) and words[0].lower() in READS


def _track(execute, sql, params, many, context):
    if not is_read(sql):
        note_write(context["connection"].alias)
    return execute(sql, params, many, context)


def install(connection, **kwargs):
    """Puts the write tracker on a connection (once). First in the list, so that
    connection.execute_wrapper() blocks, which pop the last one, keep working."""
    if _track not in connection.execute_wrappers:
        connection.execute_wrappers.insert(0, _track)


def install_everywhere():
    """On this thread's connections now, and on every connection opened later."""
    connection_created.connect(install, dispatch_uid="shardroute_django.writes")
    for alias in connections:
        install(connections[alias])
