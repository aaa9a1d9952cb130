"""Rebuild ``lithium_salts.csv`` (the shipped descriptor table of common lithium salts) from the
anions' structures: ``pip install rdkit``, then
``python src/formulate/spec/tables/make_lithium_salts.py`` (it needs nothing else).

Every number is computed here from the anion's SMILES with RDKit (no literature value is
copied), so that anyone can reproduce and extend the table:

* ``salt_molar_mass_g_mol``: Li plus anion, IUPAC standard atomic weights (RDKit ``MolWt``);
* ``anion_volume_A3``: van der Waals volume of the anion in cubic angstrom (RDKit
  ``ComputeMolVolume`` on a grid of 0.2 A, on an ETKDG conformer relaxed with UFF, mean of
  ``CONFORMERS`` conformers): the size that sets how far the charge sits from Li+;
* ``anion_fluorine_count`` and ``anion_heavy_atoms``: atoms of the anion (charge delocalised
  over more, and more electronegative, atoms binds Li+ more weakly).

Descriptors a lab knows from the literature (donor numbers, lattice energies, measured
dissociation constants) are added as further columns with their source.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

SALTS = [
    # level, name, anion SMILES
    (
        "LiTFSI",
        "lithium bis(trifluoromethanesulfonyl)imide",
        "[N-](S(=O)(=O)C(F)(F)F)S(=O)(=O)C(F)(F)F",
    ),
    ("LiFSI", "lithium bis(fluorosulfonyl)imide", "[N-](S(=O)(=O)F)S(=O)(=O)F"),
    (
        "LiFTFSI",
        "lithium (fluorosulfonyl)(trifluoromethanesulfonyl)imide",
        "[N-](S(=O)(=O)F)S(=O)(=O)C(F)(F)F",
    ),
    (
        "LiBETI",
        "lithium bis(pentafluoroethanesulfonyl)imide",
        "[N-](S(=O)(=O)C(F)(F)C(F)(F)F)S(=O)(=O)C(F)(F)C(F)(F)F",
    ),
    (
        "LiTFSM",
        "lithium tris(trifluoromethanesulfonyl)methide",
        "[C-](S(=O)(=O)C(F)(F)F)(S(=O)(=O)C(F)(F)F)S(=O)(=O)C(F)(F)F",
    ),
    ("LiCF3SO3", "lithium trifluoromethanesulfonate (triflate)", "[O-]S(=O)(=O)C(F)(F)F"),
    ("LiClO4", "lithium perchlorate", "[O-]Cl(=O)(=O)=O"),
    ("LiPF6", "lithium hexafluorophosphate", "F[P-](F)(F)(F)(F)F"),
    ("LiAsF6", "lithium hexafluoroarsenate", "F[As-](F)(F)(F)(F)F"),
    ("LiBF4", "lithium tetrafluoroborate", "F[B-](F)(F)F"),
    ("LiBOB", "lithium bis(oxalato)borate", "[B-]12(OC(=O)C(=O)O1)OC(=O)C(=O)O2"),
    ("LiDFOB", "lithium difluoro(oxalato)borate", "[B-]1(F)(F)OC(=O)C(=O)O1"),
    ("LiPO2F2", "lithium difluorophosphate", "[O-]P(=O)(F)F"),
    (
        "LiTDI",
        "lithium 4,5-dicyano-2-(trifluoromethyl)imidazolide",
        "FC(F)(F)C1=NC(C#N)=C(C#N)[N-]1",
    ),
    (
        "LiPDI",
        "lithium 4,5-dicyano-2-(pentafluoroethyl)imidazolide",
        "FC(F)(F)C(F)(F)C1=NC(C#N)=C(C#N)[N-]1",
    ),
    ("LiDCA", "lithium dicyanamide", "N#C[N-]C#N"),
    ("LiB(CN)4", "lithium tetracyanoborate", "N#C[B-](C#N)(C#N)C#N"),
    ("LiSCN", "lithium thiocyanate", "[S-]C#N"),
    ("LiNO3", "lithium nitrate", "[O-][N+](=O)[O-]"),
    ("LiTFA", "lithium trifluoroacetate", "[O-]C(=O)C(F)(F)F"),
    ("LiOAc", "lithium acetate", "CC(=O)[O-]"),
    ("LiI", "lithium iodide", "[I-]"),
    ("LiBr", "lithium bromide", "[Br-]"),
    ("LiCl", "lithium chloride", "[Cl-]"),
]
CONFORMERS = 5
COLUMNS = [
    "level",
    "name",
    "smiles",
    "salt_molar_mass_g_mol",
    "anion_volume_A3",
    "anion_fluorine_count",
    "anion_heavy_atoms",
    "source",
]
SOURCE = (
    "computed from the anion SMILES with RDKit {version} (formulate.spec.tables.make_lithium_salts)"
)


def descriptors(smiles: str) -> dict[str, float]:
    """The computed descriptors of one anion (see the module docstring)."""
    from rdkit import Chem
    from rdkit.Chem import AllChem, Descriptors

    anion = Chem.MolFromSmiles(smiles)
    with_h = Chem.AddHs(anion)
    ids = list(AllChem.EmbedMultipleConfs(with_h, numConfs=CONFORMERS, randomSeed=42))
    if not ids:
        raise ValueError(f"no conformer for {smiles}")
    if with_h.GetNumAtoms() > 1:
        AllChem.UFFOptimizeMoleculeConfs(with_h, maxIters=2000)
    volumes = [AllChem.ComputeMolVolume(with_h, confId=i, gridSpacing=0.2) for i in ids]
    volume = sum(volumes) / len(volumes)
    lithium = Descriptors.MolWt(Chem.MolFromSmiles("[Li+]"))
    return {
        "salt_molar_mass_g_mol": round(Descriptors.MolWt(anion) + lithium, 2),
        "anion_volume_A3": round(volume, 1),
        "anion_fluorine_count": sum(a.GetSymbol() == "F" for a in anion.GetAtoms()),
        "anion_heavy_atoms": anion.GetNumHeavyAtoms(),
    }


def main(out: Path) -> None:
    import rdkit
    from rdkit import RDLogger

    RDLogger.DisableLog("rdApp.*")  # UFF has no type for hypervalent As, P: geometry as embedded

    with out.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, COLUMNS, lineterminator="\n")
        writer.writeheader()
        for level, name, smiles in SALTS:
            row = {"level": level, "name": name, "smiles": smiles, **descriptors(smiles)}
            writer.writerow({**row, "source": SOURCE.format(version=rdkit.__version__)})


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).with_name("lithium_salts.csv"))
