"""richcontainer-hook: OCI hook programs. ``richcontainer-hook network up|down`` reads the OCI
state on stdin; errors are one line on stderr and a non-zero exit (the runtime shows it)."""

from __future__ import annotations

import sys

USAGE = "usage: richcontainer-hook network up|down|prune  (OCI state JSON on stdin)"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2 or args[0] != "network" or args[1] not in ("up", "down", "prune"):
        print(USAGE, file=sys.stderr)
        return 2
    from . import network
    from .state import StateError, read_state

    try:
        state = read_state(sys.stdin)
        if args[1] == "up":
            network.up(state)
        elif args[1] == "down":
            network.down(state)
        else:
            network.prune(state.annotations)
    except (StateError, network.NetworkError) as e:
        print(f"richcontainer-hook: {e}", file=sys.stderr)
        return 1
    except Exception as e:  # a hook must never print a traceback at the user
        print(f"richcontainer-hook: network {args[1]}: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
