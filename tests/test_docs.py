"""The documentation: a short README as the entry point, and no reference in the README, in
docs/ or in the rooms' READMEs to a file, heading or section that is not in the repository."""

from __future__ import annotations

import configparser
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = ROOT / "docs"
README_LIMIT = 10 * 1024

# Folders that hold no documentation of ours: tools, caches, installed packages, build output.
NOT_OURS = frozenset({"node_modules", "build", "dist", "state", "__pycache__"})


def _ours(folder: str) -> bool:
    return not (folder in NOT_OURS or folder.startswith(".") or folder.endswith(".egg-info"))


# Folders of the repository a path in the docs may start with (".ci" holds the CI entry point).
TOP_FOLDERS = frozenset({p.name for p in ROOT.iterdir() if p.is_dir() and _ours(p.name)} | {".ci"})
FILE_SUFFIXES = (".py", ".md", ".sh", ".toml", ".cfg", ".js", ".css", ".html", ".service")
# A token with one of these is a pattern or a placeholder (`api_*.py`, `/t/<token>`,
# `kiosk/i18n/{es,qu}.json`, `…`), not the name of one file.
PLACEHOLDER = re.compile(r"[<>*{}…$~|]|\.\.\.")
GLOSSARY = {"módulo": "counter", "asesor": "agent", "orientador": "receptionist",
            "jornada": "day", "cita": "appointment", "ANS": "service level"}


def _markdown_files() -> list[Path]:
    """README.md, docs/*.md and every folder's README.md (rooms, hardware, bench, harness)."""
    found = [README, *sorted(DOCS.glob("*.md")), *sorted(ROOT.glob("*/README.md")),
             *sorted(ROOT.glob("*/*/README.md"))]
    return [p for p in found if all(_ours(part) for part in p.relative_to(ROOT).parts[:-1])]


MARKDOWN = _markdown_files()
IDS = [str(p.relative_to(ROOT)) for p in MARKDOWN]


def _prose(path: Path) -> str:
    """The file without its fenced code blocks (commands to type, not references)."""
    return re.sub(r"^```.*?^```[^\n]*$", "", path.read_text(encoding="utf-8"),
                  flags=re.DOTALL | re.MULTILINE)


def _exists(path: Path, name: str) -> bool:
    """Whether name is a file or folder of the repository, from its root or from path's folder."""
    return any((base / name).exists() for base in (ROOT, path.parent))


def _slug(heading: str) -> str:
    """The anchor a Markdown heading gets on the usual hosting sites (GitHub's rule)."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    return {_slug(m) for m in re.findall(r"^#{1,6}\s+(.+?)\s*#*$", _prose(path), re.MULTILINE)}


def _links(path: Path) -> list[str]:
    """Targets of the inline links `[text](target)` that lead inside the repository."""
    targets = re.findall(r"\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)", _prose(path))
    return [t for t in targets if not re.match(r"[A-Za-z][A-Za-z0-9+.-]*:", t)]


def _code_paths(path: Path) -> list[str]:
    """Words of inline code spans that look like a file or folder of this repository."""
    paths = []
    for span in re.findall(r"`([^`\n]+)`", _prose(path)):
        for word in span.split():
            word = word.strip(".,;:()\"'")
            if PLACEHOLDER.search(word) or word.startswith(("/", "-")) or "://" in word:
                continue
            first = word.split("/", 1)[0]
            if word.endswith(FILE_SUFFIXES) or ("/" in word and first in TOP_FOLDERS):
                paths.append(word)
    return paths


def test_readme_is_a_short_entry_point_of_at_most_10_kb():
    size = len(README.read_bytes())
    assert size <= README_LIMIT, (
        f"README.md has {size} bytes (at most {README_LIMIT}): move reference material to docs/")


@pytest.mark.parametrize("path", MARKDOWN, ids=IDS)
def test_every_relative_link_points_at_a_file_and_heading_that_exist(path):
    broken = []
    for target in _links(path):
        name, _, anchor = target.partition("#")
        file = (path.parent / name) if name else path
        if not file.exists():
            broken.append(f"{target}: no such file")
        elif anchor and file.suffix == ".md" and anchor not in _anchors(file):
            broken.append(f"{target}: no heading #{anchor}")
    assert not broken, f"{path.relative_to(ROOT)}: {broken}"


@pytest.mark.parametrize("path", MARKDOWN, ids=IDS)
def test_every_repository_path_in_code_spans_exists(path):
    missing = [word for word in _code_paths(path) if not _exists(path, word)]
    assert not missing, f"{path.relative_to(ROOT)} names files not in the repository: {missing}"


@pytest.mark.parametrize("path", MARKDOWN, ids=IDS)
def test_every_markdown_file_named_in_the_prose_exists(path):
    names = re.findall(r"(?<![\w/.-])([\w./-]*\w\.md)\b", _prose(path))
    missing = [n for n in names if not PLACEHOLDER.search(n) and not _exists(path, n)]
    assert not missing, f"{path.relative_to(ROOT)} names documents not in the repository: {missing}"


def test_readme_glossary_gives_each_domain_word_its_name_in_the_code():
    rows = [line for line in README.read_text(encoding="utf-8").splitlines()
            if line.startswith("|")]
    for word, code_name in GLOSSARY.items():
        row = [r for r in rows if re.search(rf"^\|[^|]*\b{re.escape(word)}\b", r)]
        assert row, f"the README's glossary has no row for {word!r}"
        assert any(code_name in r.split("|")[2] for r in row), (
            f"the README's glossary does not give {word!r} its code name {code_name!r}")


def test_readme_links_every_document_in_docs():
    targets = {t.partition("#")[0] for t in _links(README)}
    unlinked = [p.name for p in sorted(DOCS.glob("*.md"))
                if f"docs/{p.name}" not in targets]
    assert not unlinked, f"README.md does not link docs/{unlinked}"


def test_readme_gives_the_demo_and_test_commands_and_their_scripts_exist():
    text = README.read_text(encoding="utf-8")
    for command in ("./scripts/demo", "./scripts/test", "./scripts/test --quick"):
        assert command in text, f"README.md does not give {command!r}"
    for script in ("scripts/demo", "scripts/test"):
        assert (ROOT / script).is_file(), script


def test_license_file_holds_the_licence_declared_in_setup_cfg():
    setup = configparser.ConfigParser()
    setup.read(ROOT / "setup.cfg", encoding="utf-8")
    declared = setup["metadata"]["license"]
    assert declared == "MIT"
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert text.startswith("MIT License") and "Copyright (c) 2026 mac-turnos contributors" in text


def _tracked_code() -> list[Path]:
    out = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True)
    names = out.stdout.split() if out.returncode == 0 else []
    return [ROOT / n for n in names
            if n.endswith((".py", ".js", ".html", ".css", ".sh", ".cfg", ".toml", ".ini"))
            or n.startswith("scripts/")]


def test_code_and_comments_name_only_documents_that_are_in_the_repository():
    """A comment that sends the reader to a document outside the repository (the notes of a
    brief, say) leads nowhere."""
    files = _tracked_code()
    assert len(files) > 100  # the listing works
    present = {p.name for p in ROOT.rglob("*.md") if _ours(p.relative_to(ROOT).parts[0])}
    missing = {f"{path.relative_to(ROOT)}: {name}"
               for path in files if path.is_file()
               for name in re.findall(r"\b([A-Za-z][\w-]*\.md)\b",
                                      path.read_text(encoding="utf-8", errors="replace"))
               if name not in present}
    assert missing == set()
