"""Writing outputs without ever losing the previous ones (docs/cli.md, "Output folder").

:func:`write_atomic` writes one file: a temporary file in the same folder, flushed and
fsynced, then renamed over the old one, so a reader sees the old file or the new one,
never a part. Every file neuralogic_py writes goes through it.

:class:`OutputFolder` writes the set of files of one run (``nlp train``, ``nlp test``)::

    with OutputFolder("target/out", "train") as out:   # locked, checked writable, before any work
        ...                                            # the work
        out.write_live("checkpoint.json", text)        # in place at once (it must outlive an interruption)
        out.write("model.json", text)                  # staged in .nlp-staging/
        out.commit()                                   # the staged set replaces the previous run's as a whole

The folder keeps three hidden entries: ``.nlp-lock`` (held with ``flock`` while a run
is going on; the kernel lets go of it when the process dies, so a lock left by a dead
run is never in the way), ``.nlp-outputs.json`` (the manifest: which files each
command's last run wrote) and, while a run commits, ``.nlp-staging/``.

The commit writes the new manifest into the staging folder (the commit point), moves
the staged files into place, deletes the files of the superseded runs that the new run
did not write again, and installs the manifest. A run killed before the commit point
leaves the previous files untouched and its staging folder is deleted by the next run;
one killed after it is completed by the next run. Files the manifest does not name
(the user's own) are never touched.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Any

from .errors import NeuralogicError, display_path

LOCK = ".nlp-lock"
MANIFEST = ".nlp-outputs.json"
STAGING = ".nlp-staging"
MANIFEST_FORMAT = "neuralogic_py outputs"
MANIFEST_VERSION = 1
CHUNK = 1 << 20  # bytes per write call

# which earlier runs a run replaces: a new model makes every earlier evaluation stale
SUPERSEDES = {"train": ("train", "test", "plot", "report"), "test": ("test",), "plot": ("plot",),
              "report": ("report",), "convert": ("convert",)}


def write_atomic(path: str | Path, text: str | bytes) -> Path:
    """Write ``text`` to ``path`` all or nothing: temporary file, flush, fsync, rename; returns the path.

    On any failure (a full disk, an interruption) the temporary file is removed and
    ``path`` is left as it was.
    """
    path = Path(path)
    data = text.encode("utf-8") if isinstance(text, str) else text
    fd, temporary = tempfile.mkstemp(dir=path.parent if str(path.parent) else ".", prefix=f".{path.name}.",
                                     suffix=".tmp")
    try:
        try:
            os.chmod(temporary, 0o666 & ~_umask())  # as open() would create it (mkstemp makes it private)
            _write_all(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temporary, path)
    except BaseException as e:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        if isinstance(e, OSError) and e.filename is None:  # a failed write: say which file it was
            raise OSError(e.errno, e.strerror, str(path)) from None
        raise
    _fsync_folder(path.parent)
    return path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view[:CHUNK]):]


def _fsync_folder(folder: Path) -> None:
    """Make a rename in ``folder`` durable (where the platform can open folders)."""
    try:
        fd = os.open(folder if str(folder) else ".", os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:  # some file systems refuse fsync on a folder; the rename itself is still atomic
        pass
    finally:
        os.close(fd)


class FolderInUse(NeuralogicError):
    """Another run holds the output folder's lock."""


class OutputFolder:
    """The output folder of one run of ``command`` (see the module docstring)."""

    def __init__(self, path: str | Path, command: str) -> None:
        self.path = Path(path)
        self.command = command
        self.staging = self.path / STAGING
        self.written: list[str] = []  # names (relative, with /) of this run's files, in order
        self.live: list[str] = []  # of those, the ones written in place during the run
        self.committed = False
        self.recovered = ""  # what opening the folder did about an earlier, interrupted run
        self.created: Path | None = None  # the outermost folder that opening created, if any
        self._lock_fd: int | None = None

    # -- opening and closing

    def __enter__(self) -> OutputFolder:
        self.open()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.close()

    def open(self) -> None:
        """Create the folder, take its lock (or fail), and finish or discard an interrupted run's commit."""
        if self.path.exists() and not self.path.is_dir():
            raise NeuralogicError(f"{display_path(self.path)} is not a folder", hint="give --out a folder")
        missing = [p for p in (self.path, *self.path.parents) if not p.exists()]
        self.created = missing[-1] if missing else None
        self.path.mkdir(parents=True, exist_ok=True)
        self._lock()
        try:
            self._remove_temporaries()
            if (self.staging / MANIFEST).is_file():
                self._finish_commit()
                self.recovered = "completed the commit of an interrupted run"
            elif self.staging.exists():
                shutil.rmtree(self.staging)
                self.recovered = "deleted the unfinished outputs of an interrupted run"
        except BaseException:
            self._unlock()
            raise

    def close(self) -> None:
        """Discard what was staged but not committed, and let go of the lock."""
        try:
            if not self.committed and self.staging.exists():
                shutil.rmtree(self.staging, ignore_errors=True)
        finally:
            self._unlock()
        if self.created is not None:  # a run that stopped before writing anything leaves no empty folders behind
            with contextlib.suppress(OSError):
                self.path.rmdir()
                if self.path != self.created:
                    _remove_empty_parents(self.path, self.created.parent)

    def _remove_temporaries(self) -> None:
        """Delete the temporary files a killed writer left beside the files this folder's runs write."""
        names = [MANIFEST] + [name for run in self._manifest()["runs"].values() for name in run["files"]]
        for name in names:
            path = self.path / name
            for temporary in path.parent.glob(f".{path.name}.*.tmp"):
                with contextlib.suppress(OSError):
                    temporary.unlink()

    def _lock(self) -> None:
        import fcntl

        lock = self.path / LOCK
        while True:
            fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as e:
                os.close(fd)
                if e.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                    raise
                raise FolderInUse(f"{display_path(self.path)} is in use by another run{_holder(lock)}",
                                  hint="wait for it to finish, or give another --out") from None
            try:
                same = os.stat(lock).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if same:  # (else the holder deleted the file between our open and flock: try again)
                break
            os.close(fd)
        os.ftruncate(fd, 0)
        os.write(fd, json.dumps({"pid": os.getpid(), "command": self.command,
                                 "started": time.strftime("%Y-%m-%d %H:%M:%S")}).encode())
        self._lock_fd = fd

    def _unlock(self) -> None:
        if self._lock_fd is None:
            return
        with contextlib.suppress(OSError):
            os.unlink(self.path / LOCK)
        os.close(self._lock_fd)  # closing releases the flock
        self._lock_fd = None

    # -- writing

    def write(self, name: str, text: str | bytes) -> Path:
        """Stage ``name`` (a path relative to the folder, with /); it replaces the old one at :meth:`commit`.

        Returns the path the file will have.
        """
        staged = self.staging / name
        staged.parent.mkdir(parents=True, exist_ok=True)
        try:
            write_atomic(staged, text)
        except OSError as e:  # named by the file it was to become
            raise OSError(e.errno, e.strerror, str(self.path / name)) from None
        self._record(name)
        return self.path / name

    def write_live(self, name: str, text: str | bytes) -> Path:
        """Write ``name`` in place at once (a checkpoint: it must outlive an interrupted run).

        The manifest names it at once, so that a later run removes it when it
        does not write it again.
        """
        path = self.path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        manifest = self._manifest()
        run = manifest["runs"].setdefault(self.command, {"files": []})
        if name not in run["files"]:
            run["files"].append(name)
            write_atomic(self.path / MANIFEST, _manifest_text(manifest))
        write_atomic(path, text)
        self._record(name)
        if name not in self.live:
            self.live.append(name)
        return path

    def _record(self, name: str) -> None:
        if name not in self.written:
            self.written.append(name)

    def commit(self) -> None:
        """Replace the previous run's files by this run's, as a whole."""
        manifest = self._manifest()
        replaced = {name for command in SUPERSEDES[self.command]
                    for name in manifest["runs"].pop(command, {"files": []})["files"]}
        manifest["runs"][self.command] = {"files": list(self.written),
                                          "finished": time.strftime("%Y-%m-%d %H:%M:%S")}
        manifest["remove"] = sorted(replaced - set(self.written))
        self.staging.mkdir(exist_ok=True)
        write_atomic(self.staging / MANIFEST, _manifest_text(manifest))  # the commit point
        self.committed = True
        self._finish_commit()

    def _finish_commit(self) -> None:
        """Move the staged files into place and delete the replaced ones (idempotent: also the recovery)."""
        manifest = json.loads((self.staging / MANIFEST).read_text())
        for staged in sorted(p for p in self.staging.rglob("*") if p.is_file() and p != self.staging / MANIFEST):
            target = self.path / staged.relative_to(self.staging)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staged, target)
        for name in manifest.pop("remove", []):
            with contextlib.suppress(FileNotFoundError):
                (self.path / name).unlink()
            _remove_empty_parents(self.path / name, self.path)
        write_atomic(self.path / MANIFEST, _manifest_text(manifest))
        shutil.rmtree(self.staging)
        _fsync_folder(self.path)

    def _manifest(self) -> dict[str, Any]:
        """The folder's manifest (an empty one when there is none or it is unreadable)."""
        empty: dict[str, Any] = {"format": MANIFEST_FORMAT, "version": MANIFEST_VERSION, "runs": {}}
        try:
            data = json.loads((self.path / MANIFEST).read_text())
        except (OSError, ValueError):
            return empty
        runs = data.get("runs") if isinstance(data, dict) else None
        if not isinstance(runs, dict) or not all(
                isinstance(r, dict) and isinstance(r.get("files"), list)
                and all(isinstance(f, str) and _inside(f) for f in r["files"]) for r in runs.values()):
            return empty
        return data

    def kept(self) -> str:
        """What an interrupted run leaves in the folder, in words."""
        where = display_path(self.path)
        if self.live:
            return (f"kept {', '.join(display_path(self.path / name) for name in self.live)}; the other files in "
                    f"{where} are the previous run's")
        return f"nothing written; {where} holds the previous run's files unchanged"


def _manifest_text(manifest: dict[str, Any]) -> str:
    return json.dumps(manifest, indent=1) + "\n"


def _inside(name: str) -> bool:
    """Whether a manifest entry names a file inside the folder (a manifest edited by hand must not reach out)."""
    parts = Path(name).parts
    return bool(parts) and not Path(name).is_absolute() and ".." not in parts


def _remove_empty_parents(path: Path, root: Path) -> None:
    parent = path.parent
    while parent != root and root in parent.parents:
        try:
            parent.rmdir()
        except OSError:  # not empty (or already gone)
            return
        parent = parent.parent


def _holder(lock: Path) -> str:
    """`` (nlp train, pid 123, started ...)`` from the lock file, or nothing when it cannot be read."""
    try:
        data = json.loads(lock.read_text())
        return f" (nlp {data['command']}, pid {data['pid']}, started {data['started']})"
    except (OSError, ValueError, KeyError, TypeError):
        return ""
