"""Callback bodies checked before Dash sees them: size, JSON, depth and shape.

Dash reads a callback request (``POST /_dash-update-component``) with ``request.get_json()`` and
indexes it as it expects: a body of the wrong shape (``{}``, ``[]``, an unknown output, inputs
missing) or nested deep enough to exhaust Python's recursion ends in a 500. :class:`BodyGuard`
is a WSGI middleware in front of the app that reads the body (at most
:data:`~capacity.app.limits.MAX_REQUEST_BODY_BYTES`, never more than ``Content-Length`` says),
parses it, and answers a bad one itself with a 4xx and one line of text; a good one is handed
on unchanged.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterable
from typing import Any

from capacity.app.limits import MAX_JSON_DEPTH, MAX_REQUEST_BODY_BYTES

CALLBACK_PATH = "/_dash-update-component"
"""The one route that takes a request body (Dash's callback dispatch)."""


class BadBody(ValueError):
    """A callback body refused: its HTTP status and the one line said."""

    def __init__(self, status: int, line: str):
        super().__init__(line)
        self.status = status
        self.line = line


def json_depth(value: Any) -> int:
    """Nesting depth of parsed JSON: 0 for a scalar, 1 for ``[]`` or ``{}``, 1 more for each
    array or object inside. Walked with a stack (no recursion). [levels]"""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        v, d = stack.pop()
        if isinstance(v, dict):
            deepest = max(deepest, d)
            stack.extend((x, d + 1) for x in v.values())
        elif isinstance(v, list):
            deepest = max(deepest, d)
            stack.extend((x, d + 1) for x in v)
    return deepest


def parse_body(raw: bytes, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """The JSON of a callback body.

    Raises
    ------
    BadBody
        400 when it is not UTF-8 JSON or is nested deeper than ``max_depth``.
    """
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BadBody(400, "callback body: not UTF-8 text") from None
    # json's parser recurses once per level and raises RecursionError past Python's limit
    # (1000); anything between MAX_JSON_DEPTH and that is refused after parsing
    try:
        body = json.loads(text)
    except RecursionError:
        raise BadBody(400, f"callback body: nested deeper than {max_depth} levels") from None
    except ValueError as exc:
        raise BadBody(400, f"callback body: not JSON ({exc})") from None
    if json_depth(body) > max_depth:
        raise BadBody(400, f"callback body: nested deeper than {max_depth} levels")
    return body


def _check_prop(item: Any, where: str, spec: dict | None = None) -> None:
    """One ``{id, property, value}`` entry: an id (text, or an object of scalars for a
    pattern-matching id) and a property name; with ``spec``, the property the callback declares,
    and its id where that is a plain one."""
    if not isinstance(item, dict) or "id" not in item or "property" not in item:
        raise BadBody(400, f"callback body: {where} is not an object with id and property")
    cid, prop = item["id"], item["property"]
    if not isinstance(prop, str):
        raise BadBody(400, f"callback body: {where}.property is not text")
    if isinstance(cid, dict):
        if not all(isinstance(v, str | int | float | bool) for v in cid.values()):
            raise BadBody(400, f"callback body: {where}.id has a value that is not a scalar")
    elif not isinstance(cid, str):
        raise BadBody(400, f"callback body: {where}.id is neither text nor an object")
    if spec is None:
        return
    if prop != spec["property"] or (not _pattern(spec) and cid != spec["id"]):
        raise BadBody(400, f"callback body: {where} is not {spec['id']}.{spec['property']}")


def _pattern(spec: dict) -> bool:
    """Whether a declared input has a pattern-matching id (Dash writes it as JSON text)."""
    return str(spec.get("id", "")).startswith("{")


def _check_list(items: Any, specs: list[dict], where: str) -> None:
    if not isinstance(items, list) or len(items) != len(specs):
        raise BadBody(400, f"callback body: {where} is not a list of {len(specs)} entries")
    for i, (item, spec) in enumerate(zip(items, specs, strict=True)):
        if not _pattern(spec):
            _check_prop(item, f"{where}[{i}]", spec)
        elif not isinstance(item, list):  # a pattern-matching id: a list of the matches
            raise BadBody(400, f"callback body: {where}[{i}] is not a list (pattern input)")
        else:
            for j, x in enumerate(item):
                _check_prop(x, f"{where}[{i}][{j}]", spec)
        if isinstance(item, dict) and not isinstance(item["id"], str):
            raise BadBody(400, f"callback body: {where}[{i}].id is not text")


def check_shape(body: Any, callbacks: dict[str, dict]) -> None:
    """A callback body has the fields Dash reads, for a callback this app has: ``output`` (a
    key of ``callbacks``), ``outputs``, ``inputs`` and ``state`` as that callback declares
    them, ``changedPropIds`` a list of text.

    Raises
    ------
    BadBody
        400 naming the first field that is wrong.
    """
    if not isinstance(body, dict):
        raise BadBody(400, f"callback body: expected a JSON object, got {type(body).__name__}")
    output = body.get("output")
    if not isinstance(output, str):
        raise BadBody(400, "callback body: no output (text)")
    cb = callbacks.get(output)
    if cb is None:
        raise BadBody(400, f"callback body: no callback has output {output[:80]!r}")
    _check_list(body.get("inputs"), list(cb.get("inputs") or []), "inputs")
    _check_list(body.get("state", []), list(cb.get("state") or []), "state")
    outputs = body.get("outputs")
    entries = outputs if isinstance(outputs, list) else [outputs]
    for i, item in enumerate(entries):
        for x in (item if isinstance(item, list) else [item]):
            _check_prop(x, f"outputs[{i}]")
    changed = body.get("changedPropIds", [])
    if not isinstance(changed, list) or not all(isinstance(x, str) for x in changed):
        raise BadBody(400, "callback body: changedPropIds is not a list of text")


def _answer(start_response: Callable, status: int, line: str) -> list[bytes]:
    reason = {400: "Bad Request", 411: "Length Required", 413: "Content Too Large",
              415: "Unsupported Media Type"}.get(status, "Bad Request")
    data = (line.replace("\n", " ") + "\n").encode("utf-8")
    start_response(f"{status} {reason}", [("Content-Type", "text/plain; charset=utf-8"),
                                          ("Content-Length", str(len(data)))])
    return [data]


class BodyGuard:
    """WSGI middleware: checks every callback body (:func:`parse_body`, :func:`check_shape`)
    and answers a bad one with a 4xx and one line; other requests pass untouched.

    Parameters
    ----------
    app
        The WSGI app (Dash's Flask server).
    callbacks
        Called for the app's callbacks by output key (``Dash.callback_map``).
    max_bytes
        Largest body. [bytes]
    """

    def __init__(self, app: Callable, callbacks: Callable[[], dict[str, dict]],
                 max_bytes: int = MAX_REQUEST_BODY_BYTES):
        self.app = app
        self.callbacks = callbacks
        self.max_bytes = max_bytes

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") != "POST" or \
                environ.get("PATH_INFO", "").rstrip("/") != CALLBACK_PATH:
            return self.app(environ, start_response)
        try:
            raw = self._read(environ)
            check_shape(parse_body(raw), self.callbacks())
        except BadBody as exc:
            return _answer(start_response, exc.status, exc.line)
        environ["wsgi.input"] = io.BytesIO(raw)
        environ["CONTENT_LENGTH"] = str(len(raw))
        return self.app(environ, start_response)

    def _read(self, environ: dict) -> bytes:
        try:
            length = int(environ.get("CONTENT_LENGTH") or "")
        except ValueError:
            raise BadBody(411, "callback body: no Content-Length") from None
        if length < 0:
            raise BadBody(400, "callback body: negative Content-Length")
        if length > self.max_bytes:
            raise BadBody(413, f"callback body: {length:,} bytes, more than the limit of "
                          f"{self.max_bytes:,}")
        kind = environ.get("CONTENT_TYPE", "").split(";")[0].strip().lower()
        if kind != "application/json":
            raise BadBody(415, "callback body: expected Content-Type application/json")
        raw = environ["wsgi.input"].read(length)
        if len(raw) != length:
            raise BadBody(400, "callback body: shorter than its Content-Length")
        return raw
