"""Host probe, compatibility planner and legacy backend for old kernels (RHEL 6/7).

Standalone: imports only the standard library and nothing from the CLI. Entry points:
`compat.probe.host_facts`, `compat.guest.detect_guest`, `compat.plan.plan`, `compat.check.run_check`.
"""
