"""A secret made once in the state folder (``private_files.create_once``): for the owner only,
whole or absent for every reader, and the same for every process that makes it at once."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import threading
from pathlib import Path

from config import private_files

BIG = 8 * 1024 * 1024  # large enough that writing it in place would be seen half done
MAKERS = 8


def _content(n: int) -> bytes:
    return hashlib.sha256(str(n).encode()).digest() * (BIG // 32)


def test_a_secret_made_once_is_for_the_owner_only_and_kept(tmp_path: Path) -> None:
    path = tmp_path / "secret"
    old = os.umask(0o022)  # a process started by hand
    try:
        made = private_files.create_once(path, lambda: b"first")
    finally:
        os.umask(old)
    assert made == b"first" and path.read_bytes() == b"first"
    assert path.stat().st_mode & 0o777 == 0o600
    assert private_files.create_once(path, lambda: b"second") == b"first"
    assert [p.name for p in tmp_path.iterdir()] == ["secret"]  # no temporary file left


def test_when_another_process_makes_it_first_its_content_is_used(tmp_path: Path) -> None:
    path = tmp_path / "secret"

    def made_meanwhile() -> bytes:
        path.write_bytes(b"theirs")  # another process, between the look and the link
        return b"ours"

    assert private_files.create_once(path, made_meanwhile) == b"theirs"
    assert path.read_bytes() == b"theirs"
    assert [p.name for p in tmp_path.iterdir()] == ["secret"]


def test_threads_making_it_at_once_all_get_the_same_and_no_reader_sees_it_half_written(
        tmp_path: Path) -> None:
    path = tmp_path / "secret"
    start = threading.Barrier(MAKERS + 1)
    got: dict[int, bytes] = {}
    seen: list[int] = []  # the length of every read of the file while it was being made
    done = threading.Event()

    def maker(n: int) -> None:
        start.wait()
        got[n] = private_files.create_once(path, lambda: _content(n))

    def reader() -> None:
        start.wait()
        while not done.is_set():
            try:
                seen.append(len(path.read_bytes()))
            except FileNotFoundError:
                continue

    threads = [threading.Thread(target=maker, args=(n,)) for n in range(MAKERS)]
    watcher = threading.Thread(target=reader)
    for thread in [*threads, watcher]:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    done.set()
    watcher.join(timeout=60)

    final = path.read_bytes()
    assert final in {_content(n) for n in range(MAKERS)}
    assert len(got) == MAKERS and set(got.values()) == {final}
    assert set(seen) <= {BIG}  # never a partial file
    assert [p.name for p in tmp_path.iterdir()] == ["secret"]


def test_processes_making_it_at_once_all_end_with_the_same_content(tmp_path: Path) -> None:
    path = tmp_path / "secret"
    go = tmp_path / "go"
    script = (
        "import hashlib, os, sys, time\n"
        "from pathlib import Path\n"
        "from config import private_files\n"
        "while not os.path.exists(sys.argv[2]):\n"
        "    time.sleep(0.001)\n"
        "made = private_files.create_once(Path(sys.argv[1]), lambda: os.urandom(1 << 20))\n"
        "print(hashlib.sha256(made).hexdigest())\n")
    makers = [subprocess.Popen([sys.executable, "-c", script, str(path), str(go)],
                               stdout=subprocess.PIPE, text=True,
                               cwd=Path(__file__).resolve().parents[1]) for _ in range(4)]
    go.touch()
    digests = {maker.communicate(timeout=60)[0].strip() for maker in makers}
    assert all(maker.returncode == 0 for maker in makers)
    assert digests == {hashlib.sha256(path.read_bytes()).hexdigest()}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["go", "secret"]
