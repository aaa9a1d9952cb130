"""Write the generated reference pages of the documentation site, so they cannot drift:

* ``reference/campaign-file.md``: every key of ``campaign.toml``, from the loader's own models
  (:class:`formulate.spec.campaign.Campaign` and the models its fields hold): type, default,
  and the docstrings the code carries;
* ``reference/cli.md``: every command and option, from the typer app (``typer ... utils docs``).

Run by ``make docs`` before ``mkdocs build --strict``. Run: ``python docs/gen_reference.py``.
"""

from __future__ import annotations

import ast
import inspect
import itertools
import subprocess
import sys
import textwrap
import typing
from pathlib import Path

from pydantic import BaseModel

from formulate.spec.campaign import Campaign

HERE = Path(__file__).parent
OUT = HERE / "reference"
SKIP = {"folder"}
"""Fields the loader sets itself (the folder the file is in), not keys of the file."""
TABLES = {
    "space": "[space]",
    "objectives": "[[objectives]]",
    "outcome_constraints": "[[outcome_constraints]]",
    "properties": "[properties.NAME]",
    "scatter": "[scatter]",
    "film_risks": "[[film_risks]]",
    "strategy": "[strategy]",
    "measurements": "[measurements.PROPERTY]",
    "seed_data": "[[seed_data]]",
    "priors": "[[prior]]",
    "store": "[store]",
}


def attribute_docs(model: type[BaseModel]) -> dict[str, str]:
    """The string literal written under each field in ``model``'s class body."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(model)))
    except (OSError, TypeError):
        return {}
    body = tree.body[0].body if tree.body and isinstance(tree.body[0], ast.ClassDef) else []
    out = {}
    for field, doc in itertools.pairwise(body):
        if (
            isinstance(field, ast.AnnAssign)
            and isinstance(field.target, ast.Name)
            and isinstance(doc, ast.Expr)
            and isinstance(doc.value, ast.Constant)
            and isinstance(doc.value.value, str)
        ):
            out[field.target.id] = " ".join(doc.value.value.split())
    return out


def models_in(annotation: object) -> list[type[BaseModel]]:
    """The pydantic models an annotation holds (``tuple[Objective, ...]``, ``dict[str, X]``)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    found = []
    for arg in typing.get_args(annotation):
        found += models_in(arg)
    return found


def type_name(annotation: object) -> str:
    text = str(annotation) if not isinstance(annotation, type) else annotation.__name__
    for prefix in ("formulate.spec.", "typing."):
        text = text.replace(prefix, "")
    return text.replace("|", "or").replace("NoneType", "none")


def default_of(field: object) -> str:
    if field.is_required():  # type: ignore[attr-defined]
        return "required"
    default = field.get_default(call_default_factory=True)  # type: ignore[attr-defined]
    if isinstance(default, BaseModel) or default in ((), {}, [], ""):
        return "-" if not isinstance(default, BaseModel) else "see its table"
    return f"`{default!r}`"


def section(model: type[BaseModel], title: str, seen: set[type]) -> list[str]:
    """A model's keys as a table, then the tables of the models it holds."""
    if model in seen:
        return []
    seen.add(model)
    doc = inspect.cleandoc(model.__doc__ or "")
    lines = [f"## {title}", "", f"*{model.__module__}.{model.__name__}*", "", doc, ""]
    lines += ["| key | type | default | what |", "|---|---|---|---|"]
    notes, nested = attribute_docs(model), []
    for name, field in model.model_fields.items():
        if name in SKIP:
            continue
        what = (field.description or notes.get(name, "")).replace("|", "\\|")
        key = field.alias or name  # the file's spelling ([[prior]] for priors)
        lines.append(f"| `{key}` | {type_name(field.annotation)} | {default_of(field)} | {what} |")
        nested += [(TABLES.get(name, f"{title} / {name}"), m) for m in models_in(field.annotation)]
    lines.append("")
    for sub_title, sub in nested:
        lines += section(sub, sub_title, seen)
    return lines


def campaign_file() -> str:
    head = [
        "# The campaign file reference",
        "",
        "Generated from the loader's models by `docs/gen_reference.py` (`make docs`): every "
        "key `campaign.toml` may hold, its type and default. Every problem in a file is "
        "reported at once, with its key and the fix; `formulate show` prints a campaign in "
        "plain words.",
        "",
    ]
    return "\n".join(head + section(Campaign, "Top level", set()))


def cli() -> str:
    done = subprocess.run(
        [sys.executable, "-m", "typer", "formulate.cli", "utils", "docs", "--name", "formulate"],
        capture_output=True,
        text=True,
        check=True,
    )
    return (
        "# The command line reference\n\nGenerated from the typer app.\n\n"
        + done.stdout.replace("# `formulate`", "## `formulate`", 1)
    )


def main() -> None:
    OUT.mkdir(exist_ok=True)
    (OUT / "campaign-file.md").write_text(campaign_file(), encoding="utf-8")
    (OUT / "cli.md").write_text(cli(), encoding="utf-8")
    print(f"wrote {OUT / 'campaign-file.md'} and {OUT / 'cli.md'}")


if __name__ == "__main__":
    main()
