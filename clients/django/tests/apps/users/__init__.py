"""Test app: a LOAD_BALANCED_APPS app (read group "users")."""
