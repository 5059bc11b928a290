"""The documentation's links lead somewhere: every relative link in the READMEs and docs/ names a file or folder
of this repository, so a reader of a checkout (or of the repository online) never meets a dead link."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = [ROOT / "README.md", ROOT / "bench" / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

# [text](target) and ![alt](target); the target ends at whitespace (a title may follow) or the closing parenthesis.
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)


def _relative_links(document: Path) -> list[str]:
    text = FENCE.sub("", document.read_text(encoding="utf-8"))
    targets = [match.group(1) for match in LINK.finditer(text)]
    return [t for t in targets if not re.match(r"^[a-z][a-z0-9+.-]*:", t, re.IGNORECASE) and not t.startswith("#")]


def test_the_documents_exist() -> None:
    assert (ROOT / "docs" / "architecture.md").is_file()
    assert (ROOT / "docs" / "buybox.md").is_file()
    assert all(document.is_file() for document in DOCUMENTS)


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves_inside_the_repository(document: Path) -> None:
    dead = []
    for target in _relative_links(document):
        path = (document.parent / target.split("#", 1)[0]).resolve()
        if not path.is_relative_to(ROOT) or not path.exists():
            dead.append(target)
    assert not dead, f"{document.relative_to(ROOT)} links to {dead}"


def test_the_readme_links_the_architecture_and_the_market_model() -> None:
    links = _relative_links(ROOT / "README.md")
    assert "docs/architecture.md" in links
    assert "docs/buybox.md" in links


def test_a_dead_link_is_found(tmp_path: Path) -> None:
    document = tmp_path / "x.md"
    document.write_text("See [the notes](nowhere.md), [a site](https://example.com) and [here](#top).\n")
    assert _relative_links(document) == ["nowhere.md"]
