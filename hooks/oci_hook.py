"""The hook programs run by file path: ``python -S /path/to/hooks/oci_hook.py network up``.

Unlike ``python -m hooks`` this skips runpy, whose imports (importlib.util, contextlib,
collections) cost ~9 ms of every container start.
"""

import os
import sys

sys.path[0] = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

from hooks.__main__ import main  # noqa: E402

sys.exit(main())
