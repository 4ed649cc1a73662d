"""conmon's exit command: `python -S .../richcontainer/exitcmd.py STORE_ROOT CID`.

Run as a script with -S it stays as light as the CLI's thin client: it asks the store's warm
forkserver to run the hidden `_on-exit CID` command (finalize, poststop hooks, restart policy,
--rm), and only without a server imports the engine itself.
"""

from __future__ import annotations

import os
import sys


def main() -> int:
    root, cid = sys.argv[1], sys.argv[2]
    os.environ["RICHCONTAINER_ROOT"] = root
    here = os.path.dirname(os.path.abspath(__file__))
    if sys.path and os.path.abspath(sys.path[0] or ".") == here:
        sys.path.pop(0)  # run as a script: our own modules must not shadow the standard library's
    if os.path.dirname(here) not in sys.path:
        sys.path.insert(0, os.path.dirname(here))  # and with -S the package is found here
    from richcontainer.forkclient import try_forkserver

    code = try_forkserver(["_on-exit", cid])
    if code is not None:
        return code
    if "site" not in sys.modules:  # the engine needs site-packages: run it with a normal start-up
        os.execv(sys.executable, [sys.executable, "-m", "richcontainer", "_on-exit", cid])
    from richcontainer.cli import main as cli_main

    cli_main(args=["_on-exit", cid], prog_name="richcontainer")
    return 0


if __name__ == "__main__":
    sys.exit(main())
