"""Test app: in no read group until the test adds one to LOAD_BALANCED_APPS."""
