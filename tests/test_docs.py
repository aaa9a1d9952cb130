"""The README a newcomer reads in five minutes, and the generated reference pages: short, every
link resolving, every key of the campaign file documented."""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).parent.parent
sys.path.insert(0, str(ROOT / "docs"))

import gen_reference  # noqa: E402

from formulate.spec.campaign import Campaign, Strategy  # noqa: E402


def test_the_readme_is_short_and_its_links_resolve() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 150
    links = re.findall(r"\]\(([^)#]+)\)", text)
    assert links, "the README points to the docs"
    missing = [link for link in links if not (ROOT / link).exists()]
    assert missing == []


def test_the_campaign_file_reference_names_every_key() -> None:
    page = gen_reference.campaign_file()
    for model in (Campaign, Strategy):
        for key, field in model.model_fields.items():
            if key not in gen_reference.SKIP:  # as the file spells it: [[prior]] for priors
                assert f"| `{field.alias or key}` |" in page, key
    assert "## [strategy]" in page and "## [[objectives]]" in page and "## [[prior]]" in page
