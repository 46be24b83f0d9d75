"""The part of the shardroute catalog the router needs, cached per process.

The cache is loaded from SHARDROUTE["CATALOG_DATABASE"] on first use and
reloaded only when the extension announces a committed topology change with
NOTIFY shardroute_topology. One dedicated connection (outside Django's
connection handling) both LISTENs and loads, and it LISTENs before it loads,
so a change committed while the catalog loads is never missed. Every lookup
polls that connection without blocking (a select() of its socket), so there
is no thread and no timer; a broken connection is reopened and the catalog
loaded again, since notifications sent meanwhile are lost.
"""
import json
import logging
import os
import select
import threading
from dataclasses import dataclass

import psycopg2
import psycopg2.errors
from django.conf import settings
from django.db import connections

log = logging.getLogger(__name__)

CHANNEL = "shardroute_topology"
# the catalog tables the router reads: a change of shard ranges needs no reload
ROUTING_TABLES = frozenset({"node", "read_group", "read_member"})

DEFAULTS = {
    "CATALOG_DATABASE": "default",  # the Django alias of the database holding the catalog
    "SCHEMA": "shardroute",  # the schema the extension was created in
    "APP_READ_GROUPS": {},  # app label -> read group, beyond the LOAD_BALANCED_APPS apps
}


def config():
    """settings.SHARDROUTE over the defaults."""
    return {**DEFAULTS, **getattr(settings, "SHARDROUTE", {})}


@dataclass(frozen=True)
class ReadGroup:
    """A LOAD_BALANCED_APPS app or REPORTING_DATABASES engine."""

    name: str
    setting: str  # "LOAD_BALANCED_APPS" or "REPORTING_DATABASES"
    write_node: str
    # the primary its READ members replicate from (or are): the database whose
    # writes a read of this group must see; the WRITE node when READ is empty
    master: str


@dataclass(frozen=True)
class Topology:
    groups: dict  # read group name -> ReadGroup
    primary_of: dict  # node -> its primary; a primary maps to itself

    def group_for_app(self, app_label):
        """The read group an app's models read from, or None."""
        name = config()["APP_READ_GROUPS"].get(app_label)
        if name is not None:
            return self.groups.get(name)
        group = self.groups.get(app_label)
        return group if group is not None and group.setting == "LOAD_BALANCED_APPS" else None

    def is_standby(self, node):
        return self.primary_of.get(node, node) != node


EMPTY = Topology(groups={}, primary_of={})


def load(cursor, schema):
    """Reads the topology with a psycopg2 cursor; EMPTY while the extension is not installed."""
    try:
        cursor.execute(f"SELECT name, coalesce(primary_node, name) FROM {schema}.node")
        primary_of = dict(cursor.fetchall())
        cursor.execute(
            f"""SELECT g.name, g.setting, g.write_node, min(m.node)
                  FROM {schema}.read_group g LEFT JOIN {schema}.read_member m ON m.read_group = g.name
                 GROUP BY 1, 2, 3"""
        )
        rows = cursor.fetchall()
    except (psycopg2.errors.UndefinedTable, psycopg2.errors.InvalidSchemaName) as e:
        log.warning("shardroute catalog not found (%s): no read group is routed", str(e).strip())
        return EMPTY
    # a READ list holds one master and its standbys (a rule of the catalog), so any member names it
    groups = {
        name: ReadGroup(name, setting, write_node, primary_of.get(member, write_node) if member else write_node)
        for name, setting, write_node, member in rows
    }
    return Topology(groups=groups, primary_of=primary_of)


def matters(payload):
    """Whether a shardroute_topology notification calls for a reload."""
    try:
        tables = json.loads(payload).get("tables")
    except (ValueError, AttributeError):
        return True
    return not tables or not ROUTING_TABLES.isdisjoint(tables)


# Connections inherited from a parent process: never closed here (closing
# would end the parent's session too), only kept from being collected.
_inherited = []


class Catalog:
    """The cached topology of one process, with its LISTEN connection."""

    def __init__(self):
        self._lock = threading.Lock()
        self._conn = None
        self._pid = None
        self._topology = EMPTY
        self.loads = 0  # how many times the catalog was read (for tests and logs)

    def current(self):
        """The topology, reloaded first if a notification says it changed."""
        with self._lock:
            try:
                if self._conn is None or self._pid != os.getpid():
                    self._listen()
                elif self._notified():
                    self._topology = self._load(self._conn)
            except (psycopg2.Error, OSError) as e:
                # the connection was lost (notifications with it), or a reload failed
                log.warning("shardroute catalog connection: %s; reconnecting", str(e).strip())
                self._listen()
            return self._topology

    def _notified(self):
        """Consumes pending notifications; True if one of them concerns the router."""
        # until nothing is left to read: a server that ended the session sends
        # its FATAL message first, and the next poll() raises at end of stream
        while select.select([self._conn], [], [], 0)[0]:
            self._conn.poll()
        changed = False
        while self._conn.notifies:
            changed |= matters(self._conn.notifies.pop(0).payload)
        return changed

    def _listen(self):
        """A new connection that LISTENs, then loads the topology; kept only if both worked."""
        self._forget()
        conn = psycopg2.connect(**connections[config()["CATALOG_DATABASE"]].get_connection_params())
        try:
            conn.autocommit = True
            with conn.cursor() as cursor:
                cursor.execute(f"LISTEN {CHANNEL}")
            self._topology = self._load(conn)
        except BaseException:
            conn.close()
            raise
        self._conn, self._pid = conn, os.getpid()

    def _load(self, conn):
        schema = connections[config()["CATALOG_DATABASE"]].ops.quote_name(config()["SCHEMA"])
        with conn.cursor() as cursor:
            topology = load(cursor, schema)
        self.loads += 1
        return topology

    def _forget(self):
        if self._conn is not None:
            if self._pid == os.getpid():
                try:
                    self._conn.close()
                except psycopg2.Error:
                    pass
            else:
                _inherited.append(self._conn)
        self._conn = None


catalog = Catalog()
