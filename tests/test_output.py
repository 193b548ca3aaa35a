"""Outputs are never lost: atomic files, runs replacing runs as a whole, the lock, checkpoints and resuming."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO

from neuralogic_py import cli, output
from neuralogic_py.learn.optimizers import SGD, Adam
from neuralogic_py.output import LOCK, MANIFEST, STAGING, OutputFolder, write_atomic

XOR = (REPO / "templates" / "xor_vector.rules", REPO / "datasets" / "xor_vector")


def run(capsys, *argv: str | Path) -> tuple[int, str, str]:
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def train_xor(capsys, out: Path, *extra: str | Path) -> tuple[int, str, str]:
    return run(capsys, "train", *XOR, "--epochs", "4", "--lr", "0.05", "--no-progress", "--out", out, *extra)


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file below ``folder`` (hidden ones too) and its bytes."""
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def disk_full_after(limit: int):
    """A stand-in for output._write_all that fills the disk after ``limit`` bytes in all."""
    written = [0]
    real = output._write_all

    def write_all(fd: int, data: bytes) -> None:
        room = limit - written[0]
        if len(data) > room:
            real(fd, data[:max(room, 0)])
            written[0] = limit
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real(fd, data)
        written[0] += len(data)
    return write_all


# --------------------------------------------------------------------------- one file


def test_write_atomic_replaces_the_file_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "a.json"
    write_atomic(path, "old\n")
    write_atomic(path, "new\n")
    assert path.read_text() == "new\n"
    assert [p.name for p in tmp_path.iterdir()] == ["a.json"]
    assert path.stat().st_mode & 0o777 == 0o666 & ~output._umask()


def test_a_full_disk_leaves_the_old_file_byte_for_byte(tmp_path, monkeypatch):
    path = tmp_path / "model.json"
    path.write_bytes(b"the old model\n")
    monkeypatch.setattr(output, "_write_all", disk_full_after(3))
    with pytest.raises(OSError) as raised:
        write_atomic(path, "x" * 10_000)
    assert raised.value.errno == errno.ENOSPC
    assert path.read_bytes() == b"the old model\n"
    assert [p.name for p in tmp_path.iterdir()] == ["model.json"]


# --------------------------------------------------------------------------- a run's files


def test_a_run_replaces_the_previous_runs_files_and_keeps_the_users(capsys, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    for name, test_name in (("examples.txt", "testExamples.txt"), ("queries.txt", "testQueries.txt")):
        text = (XOR[1] / name).read_text()
        (data / name).write_text(text)
        (data / test_name).write_text(text)
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine\n")
    code, _, err = run(capsys, "train", XOR[0], data, "--epochs", "2", "--no-progress", "--out", out)
    assert (code, err) == (0, "")
    assert (out / "predictions" / "test.tsv").is_file()
    code, stdout, err = train_xor(capsys, out)  # a run without a test split
    assert (code, err) == (0, "")
    assert stdout.splitlines()[-1] == (f"wrote {out}/model.json, {out}/predictions/train.tsv, {out}/results.json, "
                                       f"{out}/history.csv")
    assert sorted(snapshot(out)) == [MANIFEST, "history.csv", "model.json", "notes.txt", "predictions/train.tsv",
                                     "results.json"]
    assert (out / "notes.txt").read_text() == "mine\n"


def test_nlp_test_writes_beside_the_training_and_a_new_training_replaces_both(capsys, tmp_path):
    assert train_xor(capsys, tmp_path)[0] == 0
    results = (tmp_path / "results.json").read_bytes()
    code, stdout, err = run(capsys, "test", tmp_path / "model.json", XOR[1], "--out", tmp_path, "--no-progress")
    assert (code, err) == (0, "")
    assert stdout.splitlines()[-1] == f"wrote {tmp_path}/evaluation/train.tsv, {tmp_path}/evaluation.json"
    assert (tmp_path / "results.json").read_bytes() == results
    assert json.loads((tmp_path / "evaluation.json").read_text())["command"] == "test"
    assert train_xor(capsys, tmp_path, "--seed", "1")[0] == 0
    assert not (tmp_path / "evaluation.json").exists() and not (tmp_path / "evaluation").exists()


def test_a_full_disk_while_writing_keeps_the_previous_run(capsys, tmp_path, monkeypatch):
    assert train_xor(capsys, tmp_path)[0] == 0
    before = snapshot(tmp_path)
    monkeypatch.setattr(output, "_write_all", disk_full_after(2000))
    code, _, err = train_xor(capsys, tmp_path, "--seed", "1")
    assert code == cli.EXIT_ERROR
    assert err.splitlines() == [f"note: nothing written; {tmp_path} holds the previous run's files unchanged",
                                f"error: No space left on device: {tmp_path}/results.json"]
    assert snapshot(tmp_path) == before
    monkeypatch.undo()
    assert train_xor(capsys, tmp_path, "--seed", "1")[0] == 0  # the lock was let go


KILLER = """
import os, signal, sys
from neuralogic_py import cli, output
calls = [0]
real = getattr({module}, "{name}")
def dying(*args):
    calls[0] += 1
    if calls[0] == {when}:
        {before}
        os.kill(os.getpid(), signal.SIGKILL)
    return real(*args)
setattr({module}, "{name}", dying)
sys.exit(cli.main(sys.argv[1:]))
"""


def killed_run(out: Path, module: str, name: str, when: int, before: str = "pass") -> subprocess.CompletedProcess:
    """``nlp train`` in a subprocess that SIGKILLs itself at the ``when``-th call of ``module.name``."""
    script = textwrap.dedent(KILLER).format(module=module, name=name, when=when, before=before)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([sys.executable, "-c", script, "train", *map(str, XOR), "--epochs", "4", "--lr", "0.05",
                           "--seed", "1", "--out", str(out)], capture_output=True, text=True, env=env, timeout=300)


def test_a_run_killed_while_writing_leaves_the_previous_run_byte_for_byte(capsys, tmp_path):
    assert train_xor(capsys, tmp_path)[0] == 0
    before = snapshot(tmp_path)
    # killed in the middle of the second file: half of it written to a temporary file in the staging folder
    result = killed_run(tmp_path, "output", "_write_all", 2, "real(args[0], args[1][:len(args[1]) // 2])")
    assert result.returncode == -signal.SIGKILL
    assert (tmp_path / STAGING).is_dir()
    assert {k: v for k, v in snapshot(tmp_path).items() if not k.startswith((STAGING, LOCK))} == before
    code, _, err = train_xor(capsys, tmp_path)  # the next run cleans up; the dead run's lock is no obstacle
    assert (code, err) == (0, f"note: {tmp_path}: deleted the unfinished outputs of an interrupted run\n")
    assert (tmp_path / "model.json").read_bytes() == before["model.json"]  # the same run again: the same model


def test_a_run_killed_after_its_commit_point_is_completed_by_the_next(capsys, tmp_path):
    assert train_xor(capsys, tmp_path)[0] == 0
    old = (tmp_path / "model.json").read_bytes()
    result = killed_run(tmp_path, "os", "replace", 8)  # 3 files and the manifest staged: this moves the first
    assert result.returncode == -signal.SIGKILL
    assert (tmp_path / STAGING / MANIFEST).is_file()
    code, _, err = run(capsys, "test", tmp_path / "model.json", XOR[1], "--out", tmp_path / "eval")
    assert code == 0
    with OutputFolder(tmp_path, "train") as folder:
        assert folder.recovered == "completed the commit of an interrupted run"
    assert not (tmp_path / STAGING).exists()
    assert (tmp_path / "model.json").read_bytes() != old
    assert json.loads((tmp_path / "model.json").read_text())["seed"] == 1


def test_a_second_run_into_a_busy_folder_is_refused(capsys, tmp_path):
    with OutputFolder(tmp_path, "train"):
        code, _, err = train_xor(capsys, tmp_path)
    assert code == cli.EXIT_ERROR
    lines = err.splitlines()
    assert lines[0].startswith(f"error: {tmp_path} is in use by another run (nlp train, pid {os.getpid()}, started ")
    assert lines[1] == "    hint: wait for it to finish, or give another --out"
    assert not (tmp_path / "model.json").exists()


def test_a_lock_file_left_by_a_dead_process_is_no_obstacle(capsys, tmp_path):
    (tmp_path / LOCK).write_text(json.dumps({"pid": 999999999, "command": "train", "started": "yesterday"}))
    code, _, err = train_xor(capsys, tmp_path)
    assert (code, err) == (0, "")
    assert not (tmp_path / LOCK).exists()


def test_an_unusable_output_folder_stops_before_any_work(capsys, tmp_path):
    (tmp_path / "file").write_text("")
    (tmp_path / "bad.rules").write_text("h :- a\n")  # a syntax error that any work would report first
    code, _, err = run(capsys, "train", tmp_path / "bad.rules", XOR[1], "--out", tmp_path / "file")
    assert (code, err) == (cli.EXIT_ERROR, f"error: {tmp_path}/file is not a folder\n    hint: give --out a folder\n")
    code, _, err = run(capsys, "train", tmp_path / "bad.rules", XOR[1], "--out", tmp_path / "file" / "sub")
    assert (code, err) == (cli.EXIT_ERROR, f"error: Not a directory: {tmp_path}/file/sub\n")


def test_a_failed_run_leaves_no_empty_folder(capsys, tmp_path):
    (tmp_path / "bad.rules").write_text("h :- a\n")
    code, _, _ = run(capsys, "train", tmp_path / "bad.rules", XOR[1], "--out", tmp_path / "new")
    assert code == cli.EXIT_ERROR and not (tmp_path / "new").exists()


# --------------------------------------------------------------------------- checkpoints and resuming


def weights(folder: Path) -> dict:
    return json.loads((folder / "model.json").read_text())["parameters"]


@pytest.mark.parametrize("options", [
    ("--batch-size", "2", "--val-fraction", "0.5"),
    ("--optimizer", "sgd", "--lr-decay", "0.5", "--decay-every", "3", "--last"),
    ("--engine", "fused", "--batch-size", "2"),
])
def test_ten_epochs_equal_five_and_five_resumed(capsys, tmp_path, options):
    whole, part = tmp_path / "whole", tmp_path / "part"
    argv = ("train", *XOR, "--lr", "0.05", "--no-progress", *options)
    assert run(capsys, *argv, "--epochs", "10", "--out", whole)[0] == 0
    assert run(capsys, *argv, "--epochs", "5", "--out", part, "--checkpoint-every", "5")[0] == 0
    assert json.loads((part / "checkpoint.json").read_text())["run"]["epochs"] == 5
    code, _, err = run(capsys, *argv, "--epochs", "10", "--out", part, "--resume", part)
    assert (code, err) == (0, "")
    assert weights(part) == weights(whole)
    history = [json.loads((f / "results.json").read_text())["history"] for f in (whole, part)]
    assert [h["train_error"] for h in history[1:]] == [history[0]["train_error"]]
    assert not (part / "checkpoint.json").exists()  # the resumed run wrote none: the old one went with its run


def test_ctrl_c_says_what_it_kept_and_the_run_resumes_from_it(capsys, tmp_path, monkeypatch):
    whole, part = tmp_path / "whole", tmp_path / "part"
    assert train_xor(capsys, whole, "--epochs", "6")[0] == 0
    assert train_xor(capsys, part, "--seed", "3")[0] == 0
    old = snapshot(part)
    real, calls = OutputFolder.write_live, []

    def interrupted(self, name, text):
        real(self, name, text)
        calls.append(name)
        if len(calls) == 2:
            raise KeyboardInterrupt
    monkeypatch.setattr(OutputFolder, "write_live", interrupted)
    code, _, err = train_xor(capsys, part, "--epochs", "6", "--checkpoint-every", "2")
    assert code == cli.EXIT_INTERRUPTED
    assert err.splitlines() == [f"note: kept {part}/checkpoint.json; the other files in {part} are the previous "
                                f"run's (continue with --resume {part})", "interrupted"]
    assert {k: v for k, v in snapshot(part).items() if k not in ("checkpoint.json", MANIFEST)} == \
        {k: v for k, v in old.items() if k != MANIFEST}
    assert json.loads((part / "checkpoint.json").read_text())["run"]["epochs"] == 4
    monkeypatch.undo()
    code, _, err = train_xor(capsys, part, "--epochs", "6", "--resume", part, "--checkpoint-every", "2")
    assert (code, err) == (0, "")
    assert weights(part) == weights(whole)


def test_resuming_with_other_options_is_refused(capsys, tmp_path):
    assert train_xor(capsys, tmp_path, "--checkpoint-every", "2")[0] == 0
    code, _, err = train_xor(capsys, tmp_path / "more", "--resume", tmp_path, "--lr", "0.1")
    assert code == cli.EXIT_ERROR
    assert err == (f"error: --resume {tmp_path}: the checkpointed run has --lr 0.05, this one 0.1\n"
                   "    hint: give the options of the interrupted run (only --epochs may change)\n")
    code, _, err = train_xor(capsys, tmp_path / "more", "--resume", tmp_path / "more")
    assert code == cli.EXIT_ERROR
    assert err == (f"error: no checkpoint: {tmp_path}/more does not exist\n"
                   "    hint: --resume takes the --out folder of a run made with --checkpoint-every\n")
    other = tmp_path / "other.rules"
    other.write_text(XOR[0].read_text().replace("[activation=sigmoid]", "[activation=tanh]"))
    code, _, err = run(capsys, "train", other, XOR[1], "--epochs", "4", "--lr", "0.05", "--no-progress",
                       "--out", tmp_path / "more", "--resume", tmp_path)
    assert (code, err) == (cli.EXIT_ERROR, f"error: --resume {tmp_path}: the checkpointed run has another template\n")
    (tmp_path / "checkpoint.json").write_text('{"format": "neuralogic_py checkpoint", "version": 7}')
    code, _, err = train_xor(capsys, tmp_path / "more", "--resume", tmp_path)
    assert err == (f"error: {tmp_path}/checkpoint.json is a checkpoint of format version 7, this version "
                   "reads 1\n")


@pytest.mark.parametrize("make", [lambda: Adam(lr=0.1), lambda: SGD(lr=0.1, momentum=0.9)])
def test_optimizer_state_round_trips(make):
    rng = np.random.default_rng(0)
    grads = [{"w": rng.normal(size=(2, 3))} for _ in range(6)]
    whole, first = {"w": np.ones((2, 3))}, {"w": np.ones((2, 3))}
    a, b = make(), make()
    for g in grads:
        a.step(whole, g)
    for g in grads[:3]:
        b.step(first, g)
    c = make()
    c.load_state_dict(json.loads(json.dumps({**b.state_dict(), "moments": {
        k: {n: v.tolist() for n, v in m.items()} for k, m in b.state_dict()["moments"].items()}})))
    for g in grads[3:]:
        c.step(first, g)
    assert np.array_equal(whole["w"], first["w"]) and c.steps == 6
    with pytest.raises(Exception, match="the saved optimizer state is sgd's, not adam's"):
        Adam().load_state_dict({**SGD().state_dict()})
