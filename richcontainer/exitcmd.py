"""conmon's exit command: `python -m richcontainer.exitcmd STORE_ROOT CID`."""

from __future__ import annotations

import sys
from pathlib import Path


def main() -> int:
    from richcontainer.errors import RichContainerError
    from richcontainer.manager import Manager
    from richcontainer.paths import StorePaths

    root, cid = sys.argv[1], sys.argv[2]
    try:
        Manager(StorePaths(Path(root))).on_exit(cid)
    except RichContainerError as e:
        print(f"richcontainer exit handler: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
