"""Test app: reads from the REPORTING_DATABASES engine "ucr" (SHARDROUTE["APP_READ_GROUPS"])."""
