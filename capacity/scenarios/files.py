"""Where the input files live and how one is read: the subject folder, size and nesting
limits, TOML and CSV text."""

from __future__ import annotations

import hashlib
import os
import re
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd

from capacity.errors import InputError, closest_name
from capacity.schemas import MAX_INPUT_FILE_BYTES, MAX_NESTING_DEPTH, too_many_digits

SUBJECT_ENV = "CAPACITY_SUBJECT"
"""Environment variable naming the subject folder (the ``--subject`` option sets it per run)."""

SHARED_FILES = ("chips.csv", "export_controls.toml")
"""Files about the world, not the company: a subject folder may omit them and use the shipped
ones."""

SUBJECT_FILE = "subject.toml"
"""The file that makes a folder a subject: its name, title, currencies and FX series
(docs/subjects.md)."""

SHIPPED_SUBJECTS_DIR = "subjects"
"""Folder of the shipped subjects inside the shipped data: the shipped data folder itself (the
default subject's files live there) and each folder directly under this one that holds a
:data:`SUBJECT_FILE` is a shipped subject (``data/subjects/<name>/``; the shared files,
:data:`SHARED_FILES`, stay in ``data/``)."""

REQUIRED_FILES = ("baseline.toml", "disclosures.csv")
"""Files every subject folder holds; each other part of one is optional (docs/subjects.md)."""

_subject_folder: Path | None = None


_shipped_root: list[Path] = []
"""The shipped data folder, once found."""


def shipped_data_dir() -> Path:
    """Directory of the shipped data: ``capacity/_data`` when installed, ``data/`` in a checkout
    (found once a process)."""
    if _shipped_root:
        return _shipped_root[0]
    installed = resources.files("capacity") / "_data"
    if installed.is_dir():
        _shipped_root.append(Path(str(installed)))
        return _shipped_root[0]
    checkout = Path(__file__).resolve().parents[2] / "data"
    if checkout.is_dir():
        _shipped_root.append(checkout)
        return checkout
    raise InputError("data", f"shipped data not found (looked in {installed} and {checkout})")


_subject_docs: dict[tuple[str, int, int], dict[str, Any]] = {}
"""Subject files parsed, by (path, modification time, size): the default subject is looked up
by every :func:`data_dir` call."""


def subject_doc(path: Path) -> dict[str, Any]:
    """A :data:`SUBJECT_FILE`, parsed (:func:`read_toml`), read again only when it changed."""
    stat = path.stat()
    key = (str(path), stat.st_mtime_ns, stat.st_size)
    if key not in _subject_docs:
        _subject_docs[key] = read_toml(path)
    return _subject_docs[key]


def subject_name(folder: Path) -> str:
    """The ``name`` a subject folder's :data:`SUBJECT_FILE` gives it, else the folder's name."""
    path = folder / SUBJECT_FILE
    if not path.is_file():
        return folder.name
    name = subject_doc(path).get("name")
    if not isinstance(name, str) or not name.strip():
        raise InputError(f"{path}: name", "missing (the short name --subject takes, like "
                         "'acme')")
    return name.strip()


_shipped: dict[str, dict[str, Path]] = {}
"""The shipped subjects found, by shipped-data folder: the shipped data is part of the package and
does not change while a process runs, and every :func:`data_dir` call asks for the default."""


def shipped_subjects() -> dict[str, Path]:
    """The shipped subjects by name (:func:`subject_name`), in name order: the folders under
    :data:`SHIPPED_SUBJECTS_DIR` of the shipped data and the shipped data folder itself that hold
    a :data:`SUBJECT_FILE`.

    Raises
    ------
    InputError
        Two shipped subjects of one name.
    """
    top = shipped_data_dir()
    root = top / SHIPPED_SUBJECTS_DIR
    if str(root) in _shipped:
        return dict(_shipped[str(root)])
    found: dict[str, Path] = {}
    under = sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
    for folder in [top, *under]:
        if (folder / SUBJECT_FILE).is_file():
            name = subject_name(folder)
            if name in found:
                raise InputError(str(folder / SUBJECT_FILE), f"name {name!r} is also the name "
                                 f"of the shipped subject in {found[name]}")
            found[name] = folder.resolve()
    _shipped[str(root)] = dict(sorted(found.items()))
    return dict(_shipped[str(root)])


def default_subject_dir() -> Path:
    """The subject used without ``--subject`` or ``$CAPACITY_SUBJECT``: the shipped subject
    whose :data:`SUBJECT_FILE` says ``default = true``, else the only shipped subject, else
    the shipped data folder itself (a checkout without subject files).

    Raises
    ------
    InputError
        Several shipped subjects and none (or more than one) marked ``default = true``.
    """
    shipped = shipped_subjects()
    marked = [p for p in shipped.values() if subject_doc(p / SUBJECT_FILE).get("default") is True]
    if len(marked) == 1:
        return marked[0]
    if len(shipped) == 1 and not marked:
        return next(iter(shipped.values()))
    if not shipped:
        return shipped_data_dir()
    raise InputError("--subject", f"{len(marked) or 'none'} of the shipped subjects "
                     f"({', '.join(shipped)}) marked default = true: name one with --subject")


def subject_folder_checked(folder: str | Path, field: str) -> Path:
    """The folder of ``--subject`` (``$CAPACITY_SUBJECT``): a shipped subject's name or a
    folder holding :data:`REQUIRED_FILES`."""
    text = str(folder)
    if not text.strip():
        raise InputError(field, "empty folder name (give a shipped subject's name, see 'capacity "
                         "subjects', or a folder holding baseline.toml and disclosures.csv)")
    path = Path(text).expanduser()
    if not path.is_dir():
        shipped = shipped_subjects()
        if text.strip() in shipped:
            return shipped[text.strip()]
        near = closest_name(text.strip(), list(shipped))
        hint = f" (did you mean {near!r}?)" if near else ""
        raise InputError(field, f"{text[:200]!r} is neither a folder nor a shipped subject"
                         f"{hint}; shipped: {', '.join(shipped) or 'none'}")
    for name in REQUIRED_FILES:
        if not (path / name).is_file():
            raise InputError(field, f"{text[:200]!r} has no {name} (a subject folder holds "
                             f"{' and '.join(REQUIRED_FILES)}; see docs/subjects.md)")
    return path.resolve()


def set_subject(folder: str | Path | None) -> None:
    """Select the subject for this process: a shipped subject's name or a folder; ``None``
    goes back to the default.

    Raises
    ------
    InputError
        ``--subject: ...`` when it is neither a shipped name nor a folder holding
        :data:`REQUIRED_FILES`.
    """
    global _subject_folder
    _subject_folder = None if folder is None else subject_folder_checked(folder, "--subject")


def data_dir() -> Path:
    """The subject folder: the one :func:`set_subject` chose, else ``$CAPACITY_SUBJECT``, else
    :func:`default_subject_dir`."""
    if _subject_folder is not None:
        return _subject_folder
    env = os.environ.get(SUBJECT_ENV, "").strip()
    if env:
        return subject_folder_checked(env, SUBJECT_ENV)
    return default_subject_dir()


def data_file(name: str) -> Path:
    """A file of the subject folder; for :data:`SHARED_FILES` the shipped one when the subject
    has none of its own."""
    path = data_dir() / name
    if name in SHARED_FILES and not path.is_file():
        return shipped_data_dir() / name
    return path


def file_sha256(path: Path) -> str:
    """SHA-256 of a file's bytes (for the manifest)."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _read_bytes(path: Path) -> bytes:
    """The bytes of an input file, refused when missing or larger than MAX_INPUT_FILE_BYTES."""
    if path.is_dir():  # an empty name given as a path is the current folder
        raise InputError(str(path) if str(path) not in ("", ".") else f"{str(path)!r}",
                         "a folder, not a file (is the file name empty?)")
    if not path.is_file():
        raise InputError(str(path), "file not found")
    size = path.stat().st_size
    if size > MAX_INPUT_FILE_BYTES:
        raise InputError(str(path), f"file is {size:,} bytes, larger than the limit of "
                         f"{MAX_INPUT_FILE_BYTES:,} bytes for an input file")
    data = path.read_bytes()
    if len(data) > MAX_INPUT_FILE_BYTES:  # grew between stat and read
        raise InputError(str(path), f"file is larger than the limit of "
                         f"{MAX_INPUT_FILE_BYTES:,} bytes for an input file")
    return data


def _skip_string(text: str, i: int, line: int) -> tuple[int, int]:
    """Index just past the TOML string that opens at ``text[i]``, and the line it ends on.

    Handles basic (``"..."``, with backslash escapes) and literal (``'...'``) strings, single-
    and multi-line. An unterminated string runs to the end (the TOML parser reports it).
    """
    quote = text[i]
    triple = text.startswith(quote * 3, i)
    close = quote * 3 if triple else quote
    j = i + len(close)
    n = len(text)
    while j < n:
        c = text[j]
        if c == "\\" and quote == '"':
            if j + 1 < n and text[j + 1] == "\n":
                line += 1
            j += 2
            continue
        if c == "\n":
            if not triple:
                return j, line  # a one-line string cannot span lines: let the parser say so
            line += 1
        if text.startswith(close, j):
            j += len(close)
            while triple and j < n and text[j] == quote:  # up to two quotes may end the body
                j += 1
            return j, line
        j += 1
    return n, line


_DIGIT_RUN = re.compile(r"0[xX][0-9a-fA-F_]+|0[oO][0-7_]+|0[bB][01_]+|[0-9_]+")
"""Digits (and TOML's ``_`` separators) in a row: the body of a number, hexadecimal, octal and
binary ones included."""


def _scan(text: str, limit: int) -> tuple[int | None, tuple[int, int, str] | None]:
    """One linear pass over TOML text, strings and comments skipped.

    Returns
    -------
    tuple
        1-based line of the first ``[`` or ``{`` that opens more than ``limit`` levels, and
        the first run of more than :data:`~capacity.schemas.MAX_NUMBER_DIGITS` digits as (1-based
        line, 0-based column, the run) (each ``None`` when there is none). The scan stops at the
        first of either.
    """
    depth = 0
    line = 1
    i = 0
    n = len(text)
    while i < n:
        c = text[i]
        if c == "\n":
            line += 1
        elif c == "#":
            nl = text.find("\n", i)
            i = n if nl < 0 else nl
            continue
        elif c in "\"'":
            i, line = _skip_string(text, i, line)
            continue
        elif c in "[{":
            depth += 1
            if depth > limit:
                return line, None
        elif c in "]}":
            depth = max(0, depth - 1)
        elif "0" <= c <= "9":
            run = _DIGIT_RUN.match(text, i)
            assert run is not None
            if too_many_digits(run.group()):
                return None, (line, i - text.rfind("\n", 0, i) - 1, run.group())
            i = run.end()
            continue
        i += 1
    return None, None


def nesting_too_deep(text: str, limit: int = MAX_NESTING_DEPTH) -> int | None:
    """Line of the first ``[`` or ``{`` that opens more than ``limit`` levels, else ``None``.

    A linear scan of TOML text that skips strings and comments, run before parsing so that
    deeply nested arrays or inline tables are refused instead of exhausting the parser's
    recursion.

    Parameters
    ----------
    text
        TOML text.
    limit
        Deepest nesting allowed. [levels]

    Returns
    -------
    int or None
        1-based line number, or ``None`` when the text stays within ``limit``.
    """
    return _scan(text, limit)[0]


def value_depth(value: Any) -> int:
    """Levels of tables and arrays in a parsed value (a scalar is 0, ``[[1]]`` is 2).

    Iterative, so any depth can be measured without recursion.
    """
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            children = list(node.values())
        elif isinstance(node, list):
            children = node
        else:
            deepest = max(deepest, depth)
            continue
        deepest = max(deepest, depth + 1)
        stack.extend((child, depth + 1) for child in children)
    return deepest


def loads_toml(text: str, where: str) -> dict[str, Any]:
    """Parse TOML text within the nesting limit.

    Parameters
    ----------
    text
        TOML text.
    where
        What to name in an error (a file, ``--set``).

    Raises
    ------
    InputError
        ``where[:line]: problem`` for invalid TOML or nesting deeper than
        :data:`~capacity.schemas.MAX_NESTING_DEPTH`.
    """
    deep, long = _scan(text, MAX_NESTING_DEPTH)
    too_deep = f"nested more than {MAX_NESTING_DEPTH} levels deep (the limit for input files)"
    if deep is not None:
        raise InputError(f"{where}:{deep}", too_deep)
    if long is not None:  # before tomllib, which would end in Python's int-to-text limit
        from capacity.scenarios.positions import key_on_line

        line, column, run = long
        key = key_on_line(text, line, column)
        raise InputError(f"{where}:{line}" + (f": {key}" if key else ""),
                         str(too_many_digits(run)))
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(where, f"not valid TOML: {exc}") from None
    except ValueError as exc:  # a value tomllib reads but Python cannot convert
        raise InputError(where, f"cannot read a value: {str(exc).splitlines()[0]}") from None
    except RecursionError:  # nesting the scan cannot see (belt and braces)
        raise InputError(where, too_deep) from None
    if value_depth(doc) > MAX_NESTING_DEPTH:  # dotted keys and table headers nest too
        raise InputError(where, too_deep)
    return doc


def parse_set_value(raw: str, key: str = "") -> Any:
    """The value of a ``--set KEY=VALUE`` item: TOML when it parses, else the text itself.

    Parameters
    ----------
    raw
        The text after ``=``.
    key
        The text before ``=``, to name in an error.

    Raises
    ------
    InputError
        ``--set KEY: ...`` when the value nests deeper than
        :data:`~capacity.schemas.MAX_NESTING_DEPTH`.
    """
    try:
        return loads_toml(f"v = {raw.strip()}", "--set")["v"]
    except InputError as exc:
        if "not valid TOML" in exc.problem:
            return raw.strip()
        field = f"--set {key.strip()[:80]}" if key.strip() else "--set"
        raise InputError(field, exc.problem) from None


def read_toml(path: Path) -> dict[str, Any]:
    """An input TOML file, parsed: refused when missing, too large, empty, not UTF-8 or not TOML."""
    data = _read_bytes(path)
    if not data.strip():
        raise InputError(str(path), "file is empty")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError(str(path), "not UTF-8 text") from None
    return loads_toml(text, str(path))


def read_csv(path: Path) -> pd.DataFrame:
    """An input CSV file as text cells (no type guessing), refused when too large or malformed."""
    _read_bytes(path)  # exists and within the size limit
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InputError(str(path), f"not valid CSV: {str(exc).splitlines()[0]}") from None
    return df
