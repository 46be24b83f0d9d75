-- shardroute 1.1 -> 1.2: Citus for real. test/t/010_upgrade.pl checks that the
-- result equals a fresh install of 1.2, member by member, from 1.0 and from 1.1.
\echo Use "ALTER EXTENSION shardroute UPDATE TO '1.2'" to load this file. \quit
