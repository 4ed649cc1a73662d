#!/usr/bin/env python3
"""rclegacy: runc-compatible runtime for kernels without unshare(CLONE_NEWPID)/setns (RHEL 6). Work in progress."""
import sys

if __name__ == "__main__":
    sys.stderr.write("rclegacy: not implemented yet\n")
    sys.exit(1)
