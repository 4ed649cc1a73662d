"""JSON for the hooks without importing ``json`` (which imports ``re``: ~8 ms per hook start).

Parsing uses the C scanner ``json`` itself uses (``_json``); writing handles the plain types of
state and lease files. Anything unusual (bad input, odd types) goes to ``json`` itself, so
results and errors are the same as ``json.loads`` / ``json.dumps(indent=..., sort_keys=True)``.
"""

from __future__ import annotations

try:
    from _json import encode_basestring_ascii as _quote, make_scanner as _make_scanner
except ImportError:  # pragma: no cover - CPython always has _json
    _make_scanner = None

_WS = " \t\n\r"


class _Ctx:
    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    parse_constant = {"-Infinity": float("-inf"), "Infinity": float("inf"), "NaN": float("nan")}.__getitem__
    memo: dict = {}


_scan = _make_scanner(_Ctx()) if _make_scanner else None


def loads(text: str) -> object:
    """``json.loads(text)`` for a str."""
    if _scan is not None and isinstance(text, str):
        start = len(text) - len(text.lstrip(_WS))
        try:
            obj, end = _scan(text, start)
        except Exception:
            obj, end = None, -1
        if end >= 0 and not text[end:].strip(_WS):
            return obj
    import json
    return json.loads(text)


class _Unusual(Exception):
    pass


def _enc(o: object, ind: str, step: str, out: list[str]) -> None:
    t = type(o)
    if t is str:
        out.append(_quote(o))
    elif o is None:
        out.append("null")
    elif o is True:
        out.append("true")
    elif o is False:
        out.append("false")
    elif t is int:
        out.append(int.__repr__(o))
    elif t is dict:
        if not o:
            out.append("{}")
            return
        inner = ind + step
        first = True
        out.append("{")
        for k in sorted(o):
            if type(k) is not str:
                raise _Unusual
            out.append("\n" + inner if first else ",\n" + inner)
            first = False
            out.append(_quote(k))
            out.append(": ")
            _enc(o[k], inner, step, out)
        out.append("\n" + ind + "}")
    elif t is list or t is tuple:
        if not o:
            out.append("[]")
            return
        inner = ind + step
        out.append("[")
        for i, v in enumerate(o):
            out.append("\n" + inner if i == 0 else ",\n" + inner)
            _enc(v, inner, step, out)
        out.append("\n" + ind + "]")
    else:  # floats, subclasses, anything else: let json decide
        raise _Unusual


def dumps(obj: object, indent: int = 1) -> str:
    """``json.dumps(obj, indent=INDENT, sort_keys=True)``."""
    out: list[str] = []
    try:
        if _make_scanner is None:
            raise _Unusual
        _enc(obj, "", " " * indent, out)
    except (_Unusual, RecursionError):
        import json
        return json.dumps(obj, indent=indent, sort_keys=True)
    return "".join(out)
