"""The `richcontainer` entry point: a thin client to a warm forkserver, else the CLI in-process.

Only the standard library is imported here, so a command costs Python's start-up plus one
fork of an already-warm server (click, pydantic and the engine imported once), instead of
~250 ms of imports. Set RICHCONTAINER_FORKSERVER=0 to always run in-process.
"""

from __future__ import annotations

import os
import sys


def main() -> None:
    if os.environ.get("RICHCONTAINER_FORKSERVER", "1") != "0" and os.geteuid() == 0:
        from richcontainer.forkclient import try_forkserver

        code = try_forkserver(sys.argv[1:])
        if code is not None:
            os._exit(code)
    from richcontainer.cli import main as cli_main

    cli_main(prog_name="richcontainer")


if __name__ == "__main__":
    main()
