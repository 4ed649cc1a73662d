"""The `richcontainer` entry point: a thin client to a warm forkserver, else the full CLI.

Only cheap standard-library modules are imported here, so a command costs Python's start-up
(the installed launcher runs Python with -S) plus one fork of an already-warm server that has
click, pydantic and the engine imported, instead of ~250 ms of imports. Without a server the
full CLI is exec'ed (and a server is started for the next command).
A plain `exec NAME CMD...` skips even the server (fastexec). RICHCONTAINER_FORKSERVER=0 always
runs the CLI in-process.
"""

from __future__ import annotations

import os
import sys


def main() -> None:
    if os.environ.get("RICHCONTAINER_FORKSERVER", "1") != "0" and os.geteuid() == 0:
        if sys.argv[1:2] == ["exec"]:
            from richcontainer.fastexec import try_fast_exec

            try_fast_exec(sys.argv[1:])  # a plain exec of a running container never returns here
        from richcontainer.forkclient import try_forkserver

        code = try_forkserver(sys.argv[1:])
        if code is not None:
            sys.stdout.flush()
            os._exit(code)
    if "site" not in sys.modules:  # started with -S by the launcher: the CLI needs site-packages
        os.execv(sys.executable, [sys.executable, "-m", "richcontainer", *sys.argv[1:]])
    from richcontainer.cli import main as cli_main

    cli_main(prog_name="richcontainer")


if __name__ == "__main__":
    main()
