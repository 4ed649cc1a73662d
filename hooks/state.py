"""The OCI state a runtime passes to a hook on stdin."""

from __future__ import annotations

from . import jsonlite


class StateError(ValueError):
    """The state on stdin is missing or malformed."""


class State:
    """OCI state: id, status, pid (0 after the container is gone), bundle, annotations.

    A plain class, not a dataclass: the hook's start-up time matters (dataclasses costs ~15 ms).
    """

    __slots__ = ("id", "status", "pid", "bundle", "annotations")

    def __init__(self, id: str, status: str = "", pid: int = 0, bundle: str = "",
                 annotations: dict[str, str] | None = None) -> None:
        self.id, self.status, self.pid, self.bundle = id, status, pid, bundle
        self.annotations = annotations or {}

    def ann(self, key: str, default: str = "") -> str:
        """Annotation KEY (a missing or empty value gives DEFAULT)."""
        return self.annotations.get(key) or default


def parse_state(text: str) -> State:
    """Parse the state JSON; raise StateError with one line on bad input."""
    try:
        data = jsonlite.loads(text)
    except ValueError as e:  # json.JSONDecodeError
        raise StateError(f"invalid OCI state JSON on stdin: {e}") from None
    if not isinstance(data, dict) or not isinstance(data.get("id"), str) or not data["id"]:
        raise StateError("OCI state on stdin has no 'id'")
    ann = data.get("annotations") or {}
    if not isinstance(ann, dict):
        raise StateError("OCI state 'annotations' must be an object")
    pid = data.get("pid") or 0
    if not isinstance(pid, int) or pid < 0:
        raise StateError("OCI state 'pid' must be a positive integer")
    return State(id=data["id"], status=str(data.get("status", "")), pid=pid,
                 bundle=str(data.get("bundle", "")), annotations={str(k): str(v) for k, v in ann.items()})


def read_state(stream) -> State:
    """Read and parse the state from STREAM (stdin)."""
    return parse_state(stream.read())
