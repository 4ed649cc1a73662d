"""Legacy runtime for RHEL 6 hosts; run compat/legacy/rclegacy.py (its modules import each other top-level)."""
