"""Writing outputs without losing anything: one atomic-write helper and owned-file manifests for every verb.

Every file a dybnn command writes goes through :func:`atomic_write` (or the ``atomic_write_*`` shorthands): the
content goes to a temporary file in the same directory, is flushed, then ``os.replace``-d over the target, so a
reader (or a rerun after Ctrl-C) sees the old file or the new one, never a partial one.

A verb that writes several files into a directory (``dybnn lower`` -> ``graph.json`` + ``params.npz``, ``dybnn
hls`` -> a whole project) uses :func:`write_owned`: the files are written into a temporary directory next to the
target, then moved in one by one, and a manifest ``.dybnn-<owner>.json`` records which files the writer owns
(with their SHA-256) and what they were made from. A rerun replaces the files it writes now, deletes the ones
the previous manifest listed and this run no longer writes, and touches nothing else: a checkpoint, a user's
notes or a ``build/`` directory in the same directory survive. The manifest is written last, so a directory whose
manifest does not match its files was interrupted (:func:`owned_files_intact` says so).

``made_from`` maps input names to :func:`file_sha256` digests (and settings to their values); readers such as
``dybnn sim``, ``dybnn report`` and the flow compare it with the current inputs instead of comparing mtimes.

This module depends on the standard library only, so that every package (hwsim, hls, training, reports) can use
it without importing the CLI.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from runfiles import layout as L

#: manifest format tag
MANIFEST_FORMAT = "dybnn-outputs"


def manifest_path(directory: str | os.PathLike, owner: str) -> Path:
    """``directory/.dybnn-<owner>.json``: the manifest of the files ``owner`` wrote there."""
    return Path(directory) / f".dybnn-{owner}.json"


# ------------------------------------------------------------------------------------------------ atomic files


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: int = 0o644) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; when the block ends without an exception it replaces ``path``.

    Use it for writers that want a file name (``np.savez``, ``torch.save``, ``onnx.save``)::

        with atomic_write(out / "params.npz") as tmp:
            np.savez(tmp, **arrays)

    On an exception (including ``KeyboardInterrupt``) the temporary file is removed and ``path`` is untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Atomically write ``data`` to ``path`` (see :func:`atomic_write`); returns ``path``."""
    with atomic_write(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Atomically write ``text`` (UTF-8, ``\\n`` line ends) to ``path``."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | os.PathLike, doc: Any, indent: int = 1) -> Path:
    """Atomically write ``doc`` as indented JSON (numpy scalars and arrays become numbers and lists)."""
    return atomic_write_text(path, json.dumps(doc, indent=indent, default=_json_default) + "\n")


def _json_default(o: Any) -> Any:
    if hasattr(o, "tolist"):  # numpy scalars and arrays, without importing numpy here
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serializable: {type(o).__name__}")


# ------------------------------------------------------------------------------------------------ digests

_DIGESTS: dict[tuple[str, int, int, int], str] = {}


def file_sha256(path: str | os.PathLike) -> str | None:
    """SHA-256 (hex) of a file's content, or None when it does not exist; cached per (path, size, mtime, inode)."""
    p = Path(path)
    try:
        st = p.stat()
    except OSError:
        return None
    if not p.is_file():
        return None
    key = (str(p.resolve()), st.st_size, st.st_mtime_ns, st.st_ino)
    if key not in _DIGESTS:
        h = hashlib.sha256()
        with open(p, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        _DIGESTS[key] = h.hexdigest()
    return _DIGESTS[key]


def digest(doc: Any) -> str:
    """SHA-256 (hex) of a JSON-able value (keys sorted): the key of a set of settings and input digests."""
    return hashlib.sha256(json.dumps(doc, sort_keys=True, default=_json_default).encode()).hexdigest()


# ------------------------------------------------------------------------------------------------ owned dirs


class OutputError(OSError):
    """An output directory that cannot be written as asked (the message names it and says why)."""


def has_format(directory: str | os.PathLike, manifest: str, fmt: str) -> bool:
    """Whether ``directory`` holds a JSON manifest ``manifest`` whose ``format`` is ``fmt`` (a project this
    package wrote, which it may therefore replace)."""
    try:
        doc = json.loads((Path(directory) / manifest).read_text())
    except (OSError, ValueError):
        return False
    return isinstance(doc, dict) and doc.get("format") == fmt


def read_manifest(directory: str | os.PathLike, owner: str) -> dict[str, Any] | None:
    """The manifest ``owner`` left in ``directory``, or None (absent or unreadable)."""
    try:
        doc = json.loads(manifest_path(directory, owner).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(doc, dict) or doc.get("format") != MANIFEST_FORMAT or doc.get("owner") != owner:
        return None
    return doc


def made_from(directory: str | os.PathLike, owner: str) -> dict[str, Any] | None:
    """What ``owner``'s files in ``directory`` were made from (``None``: no manifest, provenance unknown)."""
    doc = read_manifest(directory, owner)
    return None if doc is None else dict(doc.get("made_from") or {})


def owned_files_intact(directory: str | os.PathLike, owner: str) -> bool:
    """True when ``owner``'s manifest exists and every file it lists is there with the recorded content."""
    doc = read_manifest(directory, owner)
    if doc is None:
        return False
    d = Path(directory)
    return all(file_sha256(d / rel) == sha for rel, sha in (doc.get("files") or {}).items())


def write_owned(
    directory: str | os.PathLike,
    owner: str,
    write: Callable[[Path], None],
    made_from: Mapping[str, Any] | None = None,
    *,
    claim: Callable[[Path], bool] | None = None,
) -> Path:
    """Write ``owner``'s files into ``directory`` without touching anything else there.

    ``write(tmp)`` writes every file into the empty temporary directory ``tmp`` (next to ``directory``, so the
    moves are renames). Each file then replaces its namesake in ``directory``; files the previous manifest of
    ``owner`` listed and this run did not write are deleted; the new manifest (file -> SHA-256, ``made_from``)
    is written last. Empty directories left by deleted files are removed; nothing else is.

    ``claim(directory)`` decides whether a directory with no manifest of ``owner`` may receive the files (for
    instance a project written before manifests existed); by default any directory may, since nothing but the
    files written now is replaced.

    Raises:
        OutputError: ``directory`` is a file, or ``claim`` refuses it.
        OSError: the directory cannot be written (permission, disk full), from the failing call.
    """
    d = Path(directory)
    if d.exists() and not d.is_dir():
        raise OutputError(f"{d}: exists and is not a directory")
    old = read_manifest(d, owner)
    if old is None and claim is not None and d.exists() and any(d.iterdir()) and not claim(d):
        raise OutputError(f"{d}: holds files not written by dybnn {owner}; refusing to write into it")
    d.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{d.name}.{owner}.", dir=d.parent))
    try:
        write(tmp)
        files = sorted(
            p.relative_to(tmp).as_posix() for p in tmp.rglob("*") if p.is_file() and not p.is_symlink()
        )
        digests = {rel: file_sha256(tmp / rel) for rel in files}
        d.mkdir(parents=True, exist_ok=True)
        mpath = manifest_path(d, owner)
        if mpath.exists():  # an interrupted rewrite below leaves no manifest that claims the wrong content
            mpath.unlink()
        for rel in files:
            target = d / rel
            if target.is_dir() and not target.is_symlink():
                raise OutputError(f"{target}: is a directory; dybnn {owner} needs to write a file there")
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp / rel, target)
        for rel in sorted(set((old or {}).get("files") or {}) - set(files)):
            _remove_owned(d, rel)
        doc = {
            "format": MANIFEST_FORMAT,
            "owner": owner,
            "files": digests,
            "made_from": dict(made_from or {}),
        }
        atomic_write_json(mpath, doc)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return d


def _remove_owned(d: Path, rel: str) -> None:
    p = d / rel
    if ".." in Path(rel).parts or Path(rel).is_absolute():
        return  # a manifest never names files outside its directory; ignore a tampered one
    p.unlink(missing_ok=True)
    parent = p.parent
    while parent != d and parent.is_dir() and not any(parent.iterdir()):
        parent.rmdir()
        parent = parent.parent


def record_files(
    directory: str | os.PathLike, owner: str, files: list[str], made_from: Mapping[str, Any] | None = None
) -> Path:
    """Write ``owner``'s manifest for files it wrote itself (each atomically) into ``directory``."""
    d = Path(directory)
    doc = {
        "format": MANIFEST_FORMAT,
        "owner": owner,
        "files": {rel: file_sha256(d / rel) for rel in files},
        "made_from": dict(made_from or {}),
    }
    return atomic_write_json(manifest_path(d, owner), doc)


def record_export(onnx_path: str | os.PathLike, checkpoint: str | os.PathLike) -> Path:
    """Record that ``onnx_path`` was exported from ``checkpoint`` (its SHA-256) next to it."""
    p = Path(onnx_path)
    return record_files(p.parent, "export", [p.name], {"checkpoint_sha256": file_sha256(checkpoint)})


def graph_digest(hw_dir: str | os.PathLike) -> str | None:
    """One digest of a saved hardware graph (``graph.json`` and ``params.npz``), or None when either is missing."""
    d = Path(hw_dir)
    a, b = file_sha256(d / L.GRAPH_JSON), file_sha256(d / L.PARAMS_NPZ)
    return None if a is None or b is None else digest([a, b])


def run_digests(run_dir: str | os.PathLike) -> dict[str, str | None]:
    """The digests of a run directory's main products, under the keys that ``made_from`` records use:
    ``checkpoint_sha256`` (``checkpoint.pt``), ``onnx_sha256`` (``model.onnx``), ``graph_sha256`` (``hw/``)."""
    d = Path(run_dir)
    return {
        "checkpoint_sha256": file_sha256(d / L.CHECKPOINT),
        "onnx_sha256": file_sha256(d / L.MODEL_ONNX),
        "graph_sha256": graph_digest(d / L.HW_DIR),
    }


def changed_inputs(recorded: Mapping[str, Any] | None, current: Mapping[str, Any]) -> list[str]:
    """The keys of ``current`` whose recorded digest differs (empty: up to date, or nothing recorded)."""
    if not recorded:
        return []
    return [k for k, v in current.items() if k in recorded and recorded[k] != v]
