"""The suite's scoreboard: seed-paired wins, ties, losses and Wilcoxon tests, and a planner
change's effect against the stored scores."""

from __future__ import annotations

import pandas as pd
import pytest

from formulate.backtest.scoreboard import compare, paired, verdict


def _scores(mine: list[float], other: list[float]) -> pd.DataFrame:
    n = len(mine)
    return pd.DataFrame(
        {
            "strategy": ["a"] * n + ["b"] * n,
            "seed": list(range(n)) * 2,
            "top 5% AUC": mine + other,
            "budget": 50,
        }
    )


def test_paired_counts_wins_ties_losses_and_tests_the_differences() -> None:
    better = paired(_scores([0.5, 0.6, 0.7, 0.8, 0.9, 1.0], [0.1] * 6), "a", "b")
    assert (better["wins"], better["ties"], better["losses"]) == (6, 0, 0)
    assert better["p"] == pytest.approx(0.03125) and verdict(better) == "better"
    mixed = paired(_scores([0.5, 0.1, 0.3], [0.1, 0.5, 0.3]), "a", "b")
    assert (mixed["wins"], mixed["ties"], mixed["losses"]) == (1, 1, 1)
    assert verdict(mixed) == "no difference"
    same = paired(_scores([0.2, 0.2], [0.2, 0.2]), "a", "b")
    assert same["p"] == 1.0 and same["ties"] == 2


def test_compare_pairs_ours_of_a_change_with_ours_stored() -> None:
    def table(values: list[float], member: str = "p3ht") -> pd.DataFrame:
        return pd.DataFrame(
            {
                "member": member,
                "strategy": "qlognei",
                "seed": range(len(values)),
                "top 5% AUC": values,
                "budget": 50,
                "ours": True,
            }
        )

    lnp3 = table([0.5] * 6, "lnp3").drop(columns="top 5% AUC").assign(**{"HV AUC": 0.5})
    old = pd.concat([table([0.1] * 6), table([0.3] * 6, "obelix"), lnp3])  # one multi member
    new = pd.concat([table([0.2, 0.3, 0.4, 0.5, 0.6, 0.7]), table([0.3] * 6, "obelix")])
    effect = compare(new, old).set_index("member")
    assert effect.loc["p3ht", "verdict"] == "better" and effect.loc["p3ht", "wins"] == 6
    assert effect.loc["obelix", "ties"] == 6 and effect.loc["obelix", "verdict"] == "no difference"
    assert effect.loc["p3ht", "new median"] == pytest.approx(0.45)
