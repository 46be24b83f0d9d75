"""Checks ShardrouteRouter against a real primary and a real streaming standby.

Run by test/t/015_django_router.pl, which starts the servers and imports the
catalog with import_django_settings() into the primary's database "postgres":
aliases "default" (the primary) and "standby1" (its standby, any lag up to an
hour accepted), read groups "users" (LOAD_BALANCED_APPS, READ default 1,
standby1 3) and "ucr" (REPORTING_DATABASES, READ default 1, standby1 1), and
tables users_account, reports_daily and audit_event with one row each.

    PYTHONPATH=clients/django:clients/django/tests/apps python3 check_router.py HOST PORT

HOST and PORT reach the primary. Django's DATABASES are the catalog's own
export_django_settings(). Prints one "ok - ..." or "not ok - ..." line per
check and "done" at the end; an error ends it with a traceback and status 1.
"""
import json
import sys
import time
from collections import Counter

import django
import psycopg2
from django.conf import settings

STANDBY = "standby1"


def check(passed, description):
    print(("ok - " if passed else "not ok - ") + description, flush=True)


def main(host, port):
    admin = psycopg2.connect(host=host, port=port, dbname="postgres")
    admin.autocommit = True

    def sql(query, *args):
        with admin.cursor() as cursor:
            cursor.execute(query, args)
            return cursor.fetchall()

    exported = sql("SELECT shardroute.export_django_settings()")[0][0]
    settings.configure(
        DATABASES={
            alias: {**conf, "ENGINE": "django.db.backends.postgresql"} for alias, conf in exported["DATABASES"].items()
        },
        INSTALLED_APPS=["users", "reports", "audit"],
        DATABASE_ROUTERS=["shardroute_django.router.ShardrouteRouter"],
        SHARDROUTE={"CATALOG_DATABASE": "default", "APP_READ_GROUPS": {"reports": "ucr"}},
    )
    django.setup()
    from audit.models import Event
    from django.db import connections, router, transaction
    from django.http import HttpRequest
    from reports.models import Daily
    from shardroute_django.catalog import catalog
    from shardroute_django.middleware import ReadYourWritesMiddleware
    from shardroute_django.router import read_alias
    from shardroute_django.writes import request_scope
    from users.models import Account

    def read(model, name=""):
        """One read through the router: (the alias Django used, whether that
        server is a standby, how many of its rows are named `name`)."""
        table = model._meta.db_table
        (row,) = model.objects.raw(
            f"SELECT min(id) AS id, pg_is_in_recovery() AS standby, count(*) FILTER (WHERE name = %s) AS named"
            f" FROM {table}",
            [name],
        )
        return row._state.db, row.standby, row.named

    def request(view):
        """`view` run as one request through the middleware; its result."""
        return ReadYourWritesMiddleware(lambda request: view())(HttpRequest())

    def honest(reads):
        return all((alias == STANDBY) == standby for alias, standby, _ in reads)

    def on_standby(query, *args):
        with connections[STANDBY].cursor() as cursor:
            cursor.execute(query, args)
            return cursor.fetchone()[0]

    def wait_for(condition, seconds=10):
        deadline = time.monotonic() + seconds
        while not condition():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)
        return True

    # --- balancing --------------------------------------------------------
    reads = request(lambda: [read(Account) for _ in range(400)])
    check(honest(reads), "every read is served by the server its alias names")
    count = Counter(alias for alias, _, _ in reads)
    share = 100.0 * count[STANDBY] / len(reads)
    check(count["default"] > 0 and 65 <= share <= 85,
          f"users (LOAD_BALANCED_APPS, weights 1:3): standby1 {share:.0f}%, default {count['default']} reads")
    reads = request(lambda: [read(Daily) for _ in range(200)])
    share = 100.0 * Counter(alias for alias, _, _ in reads)[STANDBY] / len(reads)
    check(honest(reads) and 35 <= share <= 65, f"reports -> ucr (REPORTING_DATABASES, weights 1:1): standby1 {share:.0f}%")
    check(Counter(read_alias("ucr") for _ in range(100)).keys() == {"default", STANDBY}, "read_alias('ucr') uses both")
    check({read(Event)[0] for _ in range(20)} == {"default"}, "audit (no read group) reads from default")
    check(router.db_for_write(Account) == "default" and router.db_for_write(Daily) == "default",
          "writes go to the WRITE node")
    check(router.allow_migrate(STANDBY, "users") is False and router.allow_migrate("default", "users") is True,
          "standbys are never migrated")
    check(router.allow_relation(Account.objects.using(STANDBY).first(), Account.objects.using("default").first()),
          "objects read from a standby relate to objects of its primary")

    # --- read-your-writes, with replay paused on the standby -----------------
    on_standby("SELECT pg_wal_replay_pause()")
    try:
        def write_then_read():
            account = Account.objects.create(name="rw-1")
            return account._state.db, [read(Account, "rw-1") for _ in range(50)]

        written_on, reads = request(write_then_read)
        check(written_on == "default", "the write went to default")
        check(honest(reads) and all(alias == "default" and named == 1 for alias, _, named in reads),
              "after a write, every read of the request comes from a node that has it (default)")
        check(on_standby("SELECT count(*) FROM users_account WHERE name = 'rw-1'") == 0,
              "the paused standby has not replayed the write")
        reads = request(lambda: [read(Account, "rw-1") for _ in range(200)])
        stale = [named for alias, _, named in reads if alias == STANDBY]
        check(honest(reads) and len(stale) > 100 and not any(stale),
              f"the next request balances again: standby1 served {len(stale)} of 200 reads, without the write")

        with request_scope():
            with connections["default"].cursor() as cursor:
                cursor.execute("INSERT INTO users_account (name) VALUES ('rw-raw')")
            reads = [read(Account, "rw-raw") for _ in range(30)]
        check(all(alias == "default" and named == 1 for alias, _, named in reads),
              "a write through connection.cursor() counts too")

        with request_scope():
            Event.objects.create(name="rw-audit")  # an app of no read group, on the same database
            reads = [read(Account) for _ in range(30)] + [read(Daily) for _ in range(30)]
        check({alias for alias, _, _ in reads} == {"default"}, "a write to the database holds for every group reading it")

        with request_scope():
            Daily.objects.create(name="rw-ucr")
            reads = [read(Daily, "rw-ucr") for _ in range(30)]
            aliases = {read_alias("ucr") for _ in range(30)}
        check(all(alias == "default" and named == 1 for alias, _, named in reads) and aliases == {"default"},
              "read-your-writes for a REPORTING_DATABASES engine")
    finally:
        on_standby("SELECT pg_wal_replay_resume()")
    target = sql("SELECT pg_current_wal_lsn()")[0][0]
    check(wait_for(lambda: sql("SELECT bool_and(replay_lsn >= %s::pg_lsn) FROM pg_stat_replication", target)[0][0], 60),
          "the standby catches up after replay resumes")

    # --- read-your-writes, with the standby streaming ----------------------------
    with request_scope():
        with transaction.atomic():
            Account.objects.create(name="rw-atomic")
            # the standby may well have replayed the uncommitted insert: it cannot show it
            inside = [read(Account, "rw-atomic") for _ in range(20)]
        after = [read(Account, "rw-atomic") for _ in range(200)]
    check(all(alias == "default" and named == 1 for alias, _, named in inside),
          "inside the write's transaction, reads use its connection and see the uncommitted row")
    check(honest(after) and all(named == 1 for _, _, named in after),
          f"after its commit, every read sees it ({Counter(a for a, _, _ in after)[STANDBY]} of 200 from standby1)")

    # --- topology changes, announced by NOTIFY shardroute_topology --------------
    loads = catalog.loads
    check(loads == 1, "the catalog was read once so far")
    sql("SELECT pg_notify('shardroute_topology', %s)", json.dumps({"database": "postgres", "tables": ["shard_range"]}))
    time.sleep(0.5)
    catalog.current()
    check(catalog.loads == loads, "a change of shard ranges only does not reload the catalog")

    sql("SELECT count(*) FROM shardroute.import_django_settings(%s)",
        json.dumps({"LOAD_BALANCED_APPS": {"audit": {"WRITE": "default", "READ": [[STANDBY, 1]]}}}))
    check(wait_for(lambda: read(Event)[0] == STANDBY),
          "audit reads go to standby1 once imported into LOAD_BALANCED_APPS, without a restart")
    check(catalog.loads == loads + 1, "one reload for that change")
    reads = request(lambda: [read(Event) for _ in range(50)])
    check(honest(reads) and {alias for alias, _, _ in reads} == {STANDBY}, "every audit read then goes to standby1")

    sql("SELECT shardroute.set_read_weight('users', %s, 0)", STANDBY)
    reads = request(lambda: [read(Account) for _ in range(100)])
    check({alias for alias, _, _ in reads} == {"default"}, "weight 0 takes standby1 out of users")

    # the LISTEN connection dies, a change is made meanwhile: noticed, reconnected, reloaded
    sql("SELECT pg_terminate_backend(%s, 5000)", catalog._conn.get_backend_pid())
    sql("SELECT shardroute.drop_read_group('audit')")
    reads = request(lambda: [read(Event) for _ in range(20)])
    check({alias for alias, _, _ in reads} == {"default"} and "audit" not in catalog.current().groups,
          "after its LISTEN connection is lost, the router reconnects and sees the change made meanwhile")
    print("done", flush=True)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
