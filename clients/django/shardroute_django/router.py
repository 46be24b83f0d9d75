"""The DATABASE_ROUTERS entry, and the read/write aliases of a read group.

Node names in the catalog are Django database aliases (as
import_django_settings() creates them), so the routers answer with the node
name that shardroute.choose_read_node() returns.
"""
from django.db import connections

from . import writes
from .catalog import catalog, config


def read_alias(group_name):
    """The alias to read a read group's data from, chosen now by the catalog
    database: weighted among its eligible READ members, and, after a write to
    the group's database in this scope, among those that have replayed it.
    KeyError if the catalog has no such group."""
    return _read_alias(catalog.current().groups[group_name])


def _read_alias(group):
    lsn = writes.position(group.master)
    if lsn is writes.UNCOMMITTED:
        return _known(group.master, group)
    connection = connections[config()["CATALOG_DATABASE"]]
    function = connection.ops.quote_name(config()["SCHEMA"]) + ".choose_read_node"
    with connection.cursor() as cursor:
        if lsn is None:
            cursor.execute(f"SELECT {function}(%s)", [group.name])
        else:
            cursor.execute(f"SELECT {function}(%s, %s::pg_lsn)", [group.name, lsn])
        return _known(cursor.fetchone()[0], group)


def write_alias(group_name):
    """The WRITE node of a read group. KeyError if the catalog has no such group."""
    return catalog.current().groups[group_name].write_node


def _known(alias, group):
    """`alias`, or the group's WRITE node when `alias` is not in settings.DATABASES."""
    return alias if alias in connections.databases else group.write_node


class ShardrouteRouter:
    """Reads of an app mapped to a read group (a LOAD_BALANCED_APPS app by its
    label, or SHARDROUTE["APP_READ_GROUPS"]) go to read_alias(group), writes
    to its WRITE node; other apps are left to the next router. Relations are
    allowed between a primary and its standbys; standbys are never migrated."""

    def __init__(self):
        writes.install_everywhere()

    def db_for_read(self, model, **hints):
        group = catalog.current().group_for_app(model._meta.app_label)
        return _read_alias(group) if group is not None else None

    def db_for_write(self, model, **hints):
        group = catalog.current().group_for_app(model._meta.app_label)
        return group.write_node if group is not None else None

    def allow_relation(self, obj1, obj2, **hints):
        primary_of = catalog.current().primary_of
        primary = primary_of.get(obj1._state.db)
        return True if primary is not None and primary == primary_of.get(obj2._state.db) else None

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return False if catalog.current().is_standby(db) else None
