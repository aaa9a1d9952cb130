"""Prior sources: ``[[prior]]`` entries, their rows kept apart, the multi-task GP that learns
how far they carry, proposals that say so, and the transfer tasks' files."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from formulate.backtest.oracles import load_pool
from formulate.backtest.transfer import ARMS, load_transfer, task_tables
from formulate.cli import main
from formulate.data.priors import source_rows
from formulate.data.store import Store
from formulate.errors import FormulateError
from formulate.model.surrogates import fit_objective, lengthscales
from formulate.model.transfer import TaskEncoder, carries, transfer_notes
from formulate.plan.planner import Request, propose
from formulate.spec.campaign import Campaign, campaign_from_dict, load_campaign
from formulate.testing import SYNTHETIC_SPEC, synthetic_pool

REPO = Path(__file__).resolve().parents[1]
PRIOR = '\n[[prior]]\ntable = "{file}"\ndiffers = "{differs}"\n'


def _campaign_with(folder: Path, *priors: tuple[str, str]) -> Path:
    """The synthetic campaign (maximize yield) with ``priors`` ``(file, differs)``."""
    text = SYNTHETIC_SPEC.replace("{second}", "")
    text += "".join(PRIOR.format(file=f, differs=d) for f, d in priors)
    path = folder / "campaign.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def sources(tmp_path: Path) -> Path:
    """The synthetic pool, a related source (the same formulations at another condition: every
    yield 15 points higher) and an unrelated one (the related yields shuffled)."""
    csv = synthetic_pool(tmp_path)
    past = pd.read_csv(csv)
    related = past.assign(yield_pct=past["yield_pct"] + 15.0)
    related.to_csv(tmp_path / "related.csv", index=False)
    order = np.random.default_rng(1).permutation(len(related))
    related.assign(yield_pct=related["yield_pct"].to_numpy()[order]).to_csv(
        tmp_path / "unrelated.csv", index=False
    )
    return tmp_path


def _target(folder: Path, spec: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A campaign that has tried only catalysts A and C (8 membranes), and the whole pool."""
    campaign = load_campaign(spec)
    pool = load_pool(campaign, folder / "past.csv")
    pool.insert(0, "membrane", [f"m{i}" for i in range(len(pool))])
    pool["provenance"] = "imported"
    tried = pool[pool["catalyst"] != "B"].head(8).reset_index(drop=True)
    return tried, pool


def _with_ids(csv: Path) -> str:
    """A copy of ``csv`` with a ``membrane`` column (what an import needs)."""
    table = pd.read_csv(csv)
    table.insert(0, "membrane", [f"m{i + 1}" for i in range(len(table))])
    path = csv.with_name(f"ids-{csv.name}")
    table.to_csv(path, index=False)
    return str(path)


def test_a_prior_entry_needs_one_source_and_what_differs(tmp_path: Path) -> None:
    raw = tomllib.loads(SYNTHETIC_SPEC.replace("{second}", ""))
    (tmp_path / "old.csv").write_text("catalyst,temperature,ratio,yield_pct\nA,30,2,50\n")
    bad = [
        {"table": "old.csv"},  # no differs
        {"table": "old.csv", "campaign": "../x", "differs": "salt"},  # both
        {"table": "missing.csv", "differs": "salt"},
        {"table": "old.csv", "differs": "salt", "columns": {"colour": "Colour"}},
        {"table": "old.csv", "differs": "salt", "trust": 1.5},
    ]
    for entry in bad:
        with pytest.raises(FormulateError) as err:
            campaign_from_dict({**raw, "prior": [entry]}, tmp_path)
        assert "prior" in str(err.value)
    good = campaign_from_dict(
        {**raw, "prior": [{"table": "old.csv", "differs": "at 60 C", "trust": 0.7}]}, tmp_path
    )
    assert good.priors[0].label == "old" and good.prior_path(good.priors[0]).is_file()


def test_a_bad_prior_row_is_named_with_its_file_row_and_column(sources: Path) -> None:
    table = pd.read_csv(sources / "related.csv")
    table.loc[2, "temperature"] = 95.0  # outside 20-80 C
    table.to_csv(sources / "bad.csv", index=False)
    campaign = load_campaign(_campaign_with(sources, ("bad.csv", "another lab")))
    with pytest.raises(FormulateError) as err:
        source_rows(campaign)
    where = " ".join(p.where for p in err.value.problems)
    assert "bad.csv" in str(err.value) and "row 4" in where and "temperature" in where


def test_a_related_task_carries_to_where_the_campaign_has_no_membrane(sources: Path) -> None:
    tried, pool = _target(sources, _campaign_with(sources))
    alone = fit_objective(load_campaign(sources / "campaign.toml"), tried, "yield_pct", "gp-onehot")
    spec = _campaign_with(sources, ("related.csv", "another condition: +15 points"))
    campaign = _mode(load_campaign(spec), "multitask")
    helped = fit_objective(campaign, tried, "yield_pct", "gp-onehot")
    assert isinstance(helped.encoder, TaskEncoder)
    assert helped.data.y.shape == (8,)  # the model's data are the campaign's own
    assert helped.source_rows == 50
    truth = pool["yield_pct"].to_numpy()
    err_alone = np.sqrt(np.mean((alone.predict(pool)["mean"] - truth) ** 2))
    err_helped = np.sqrt(np.mean((helped.predict(pool)["mean"] - truth) ** 2))
    assert err_helped < 0.5 * err_alone
    assert carries(helped.model)[0] > 0.9

    spec = _campaign_with(sources, ("unrelated.csv", "outcomes shuffled"))
    misled = fit_objective(_mode(load_campaign(spec), "multitask"), tried, "yield_pct", "gp-onehot")
    assert carries(misled.model)[0] < 0.2  # its outcomes are noise to its formulations
    err_misled = np.sqrt(np.mean((misled.predict(pool)["mean"] - truth) ** 2))
    assert err_misled < 1.2 * err_alone


def test_the_autoregressive_source_lowers_the_uncertainty_where_only_it_measured(
    sources: Path,
) -> None:
    """Kennedy and O'Hagan's co-kriging: where the campaign has no membrane (catalyst B) but
    the related source has, the campaign's posterior is as sure as the source makes it (the
    stacked mean follows the source there but stays as unsure as without it); a shuffled
    source is little used and does not mislead."""
    from formulate.model.autoregressive import AutoregressiveKernel
    from formulate.model.transfer import USED

    tried, pool = _target(sources, _campaign_with(sources))
    truth = pool["yield_pct"].to_numpy()
    untried = (pool["catalyst"] == "B").to_numpy()
    alone = fit_objective(load_campaign(sources / "campaign.toml"), tried, "yield_pct", "gp-onehot")
    err_alone = np.sqrt(np.mean((alone.predict(pool)["mean"] - truth) ** 2))
    spec = _campaign_with(sources, ("related.csv", "another condition: +15 points"))
    campaign = _mode(load_campaign(spec), "autoregressive")
    helped = fit_objective(campaign, tried, "yield_pct", "gp-onehot")
    assert isinstance(helped.model.covar_module, AutoregressiveKernel)
    assert helped.data.y.shape == (8,) and helped.source_rows == 50
    err_helped = np.sqrt(np.mean((helped.predict(pool)["mean"] - truth) ** 2))
    assert err_helped < 0.05 * err_alone
    assert carries(helped.model)[0] > 0.9
    stacked = fit_objective(_mode(campaign, "stacked"), tried, "yield_pct", "gp-onehot")
    sure = helped.predict_scale(pool)[1][untried].mean()
    assert sure < 0.5 * stacked.predict_scale(pool)[1][untried].mean()
    multitask = fit_objective(_mode(campaign, "multitask"), tried, "yield_pct", "gp-onehot")
    assert multitask.key != helped.key  # the way is part of what is cached

    spec = _campaign_with(sources, ("unrelated.csv", "outcomes shuffled"))
    misled = _mode(load_campaign(spec), "autoregressive")
    fitted = fit_objective(misled, tried, "yield_pct", "gp-onehot")
    assert carries(fitted.model)[0] < USED
    (note,) = transfer_notes(misled, {"yield_pct": fitted})
    assert "learns from prior 'unrelated'" in note and "(little used;" in note
    err_misled = np.sqrt(np.mean((fitted.predict(pool)["mean"] - truth) ** 2))
    assert err_misled < 1.1 * err_alone


@pytest.mark.parametrize("way", ["autoregressive", "multitask"])
def test_a_source_model_is_built_with_the_kernel_the_spec_asks_for(sources: Path, way: str) -> None:
    """``kernel = "matern"`` reaches the formulation's kernels of a model with sources (both
    parts of the autoregressive one), so a spec's kernel (or ``auto``'s choice) is never
    quietly RBF."""
    from gpytorch.kernels import MaternKernel, RBFKernel

    from formulate.model.gp import kernel_of
    from formulate.model.specs import load_spec

    spec = _campaign_with(sources, ("related.csv", "another condition: +15 points"))
    tried, _ = _target(sources, spec)
    campaign = _mode(load_campaign(spec), way)
    kinds = {}
    for kernel in ("rbf", "matern"):
        surrogate = load_spec("gp-onehot").model_copy(update={"kernel": kernel})
        fitted = fit_objective(campaign, tried, "yield_pct", surrogate)
        parts = [
            m
            for m in fitted.model.covar_module.modules()
            if isinstance(m, (MaternKernel, RBFKernel))
        ]
        assert len(parts) == (2 if way == "autoregressive" else 1)
        assert {type(m) for m in parts} == {MaternKernel if kernel == "matern" else RBFKernel}
        kinds[kernel] = kernel_of(fitted.model)
    assert kinds == {"rbf": "rbf", "matern": "matern"}


def test_a_source_restated_is_fitted_again_not_taken_from_the_cache(sources: Path) -> None:
    """A source's trust shapes the fit and its words the proposals' reasons: the same rows
    with another ``trust`` or ``differs`` are a new model (a long-running app would
    otherwise keep the first)."""
    spec = _campaign_with(sources, ("related.csv", "another condition"))
    tried, _ = _target(sources, spec)
    campaign = _mode(load_campaign(spec), "multitask")
    first = fit_objective(campaign, tried, "yield_pct", "gp-onehot")
    prior = campaign.priors[0]
    for change in ({"trust": 0.2}, {"differs": "another lab"}):
        restated = campaign.model_copy(update={"priors": (prior.model_copy(update=change),)})
        again = fit_objective(restated, tried, "yield_pct", "gp-onehot")
        assert again is not first and again.key != first.key
        assert again.encoder.sources[0].prior == restated.priors[0]  # type: ignore[union-attr]


def test_the_multitask_gp_takes_no_categorical_kernel_and_the_chooser_leaves_it_out(
    sources: Path,
) -> None:
    """A multi-task GP would read level indices as numbers: ``gp-mixed`` asked for is refused
    with the key and the fix, and the default ``gp-physics``, which puts the synthetic
    catalysts (no descriptors, beside numeric variables) on the categorical kernel elsewhere,
    gives them one-hot columns there; ``gp-chosen`` then has nothing else to offer."""
    from formulate.model.encoding import Encoder
    from formulate.model.specs import load_spec
    from formulate.model.surrogates import distinct_families
    from formulate.plan.fitting import fit_models

    spec = _campaign_with(sources, ("related.csv", "another condition: +15 points"))
    tried, _ = _target(sources, spec)
    campaign = _mode(load_campaign(spec), "multitask")
    with pytest.raises(FormulateError) as err:
        fit_objective(campaign, tried, "yield_pct", "gp-mixed")
    assert err.value.problems[0].where == "campaign.toml: strategy.transfer"
    assert "stacked" in err.value.problems[0].fix
    chooser = load_spec("gp-chosen")
    assert [f.name for f in distinct_families(campaign, chooser)] == ["gp-physics"]
    stacked = _mode(campaign, "stacked")
    assert Encoder(stacked, "physics").cat_dims == [2]  # the catalyst, after two numbers
    assert Encoder(campaign, "physics").cat_dims == []
    assert "catalyst=B" in Encoder(campaign, "physics").columns
    assert fit_objective(campaign, tried, "yield_pct", "gp-chosen").spec.name == "gp-physics"
    (note,) = [n for n in fit_models(campaign, tried, "gp-chosen").notes if "surrogate" in n]
    assert "transfer = 'multitask' lacks" in note


@pytest.mark.parametrize("mode", ["multitask", "stacked"])
def test_a_matern_kernel_learns_from_a_related_source_too(sources: Path, mode: str) -> None:
    """``kernel = "matern"`` reaches the multi-task and the stacked model: the fit is Matern
    over the formulation and the related source still halves the error away from the data."""
    from formulate.model.gp import kernel_of
    from formulate.model.specs import load_spec

    matern = load_spec("gp-onehot").model_copy(update={"kernel": "matern"})
    tried, pool = _target(sources, _campaign_with(sources))
    alone = fit_objective(load_campaign(sources / "campaign.toml"), tried, "yield_pct", matern)
    spec = _campaign_with(sources, ("related.csv", "another condition: +15 points"))
    helped = fit_objective(_mode(load_campaign(spec), mode), tried, "yield_pct", matern)
    assert kernel_of(alone.model) == kernel_of(helped.model) == "matern"
    truth = pool["yield_pct"].to_numpy()
    err_alone = np.sqrt(np.mean((alone.predict(pool)["mean"] - truth) ** 2))
    err_helped = np.sqrt(np.mean((helped.predict(pool)["mean"] - truth) ** 2))
    assert err_helped < 0.5 * err_alone


@pytest.mark.parametrize(
    "transfer, says",
    [
        ("multitask", "its nearest membrane reached"),
        ("autoregressive", "its nearest membrane reached"),
        ("stacked", "its own model predicts"),
    ],
)
def test_proposals_with_a_source_stay_in_the_pool_and_name_it(
    sources: Path, transfer: str, says: str
) -> None:
    spec = _campaign_with(sources, ("related.csv", "another condition"))
    campaign = _mode(load_campaign(spec), transfer)
    tried, pool = _target(sources, spec)
    candidates = pool[~pool["membrane"].isin(tried["membrane"])]
    picked = propose(
        campaign, tried, Request(strategy="qlognei", batch_size=2, disk_cache=False), candidates
    )
    names = campaign.space.names()
    allowed = {tuple(r) for r in candidates[names].to_numpy()}
    assert all(tuple(r) in allowed for r in picked[names].to_numpy())
    first = picked.iloc[0]
    assert first["catalyst"] == "B"  # the source says B; the campaign never tried it
    assert any("from prior 'related'" in n or "from related" in n for n in picked.attrs["notes"])
    assert f"from prior 'related' (another condition): {says} yield_pct" in first["reason"]


@pytest.mark.parametrize("transfer", ["stacked", "multitask"])
def test_a_campaign_with_no_membranes_starts_from_its_source(sources: Path, transfer: str) -> None:
    spec = _campaign_with(sources, ("related.csv", "another condition"))
    campaign = _mode(load_campaign(spec), transfer)
    _, pool = _target(sources, spec)
    request = Request(strategy="qlognei", batch_size=2, disk_cache=False)
    picked = propose(campaign, pd.DataFrame(), request, pool)
    assert not picked["warm_up"].any()
    assert set(picked["catalyst"]) == {"B"}  # the source's best catalyst, from the start
    assert (picked["temperature"] - 60).abs().max() < 20  # and near its best temperature
    assert picked["reason"].str.startswith("from prior 'related' alone").all()
    (note,) = [n for n in picked.attrs["notes"] if n.startswith("from prior 'related'")]
    assert "fewer than 3 membranes" in note
    alone = propose(campaign.model_copy(update={"priors": ()}), pd.DataFrame(), request, pool)
    assert alone["warm_up"].all()  # without a source: the space-filling warm-up
    spec = _campaign_with(sources, ("unrelated.csv", "outcomes shuffled"))
    shuffled = propose(_mode(load_campaign(spec), transfer), pd.DataFrame(), request, pool)
    assert shuffled["warm_up"].all()  # its own model predicts nothing: no start from it


def test_a_source_start_backtest_needs_a_source(sources: Path) -> None:
    out = sources / "bt0"
    args = ["backtest", "pool", str(sources / "past.csv"), "--spec", str(sources / "one.toml")]
    args += ["--strategy", "qlognei", "--seeds", "1", "--initial", "0", "--budget", "4"]
    args += ["-o", str(out), "--workers", "1"]
    assert main(args) == 2 and not out.exists()
    assert main([*args, "--prior", str(sources / "related.csv")]) == 0
    trace = pd.read_csv(out / "runs" / "qlognei" / "seed-000.csv")
    assert len(trace) == 4 and (trace["step"] >= 1).all()  # no random row: 4 proposals
    assert trace["reason"].head(3).str.startswith("from prior").all()
    assert not trace["reason"].iloc[3].startswith("from prior 'related' alone")


def test_source_rows_are_counted_apart_and_never_become_membranes(
    sources: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = _campaign_with(sources, ("related.csv", "another condition"))
    folder = spec.parent
    assert main(["import", str(folder), _with_ids(sources / "past.csv")]) == 0
    campaign = load_campaign(folder)
    store = Store(campaign.store_url())
    before = store.measurements(campaign.name, history=True)
    capsys.readouterr()
    assert main(["status", str(folder), "--format", "json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["membranes"] == 50  # the campaign's own rows (45 and 5 replicates)
    assert summary["priors"] == [
        {
            "name": "related",
            "differs": "another condition",
            "rows": 50,
            "total": 50,
            "columns": {"yield_pct": "yield_pct"},
        }
    ]
    assert main(["show", str(folder)]) == 0
    shown = capsys.readouterr().out
    assert "related (table related.csv): another condition" in shown
    assert "related: 50 rows" in shown
    assert main(["export", str(folder), "-o", str(sources / "out.csv")]) == 0
    exported = pd.read_csv(sources / "out.csv")
    assert len(exported) == 50 and not exported["membrane"].str.startswith("related:").any()
    after = store.measurements(campaign.name, history=True)
    assert after.equals(before) and len(store.membranes(campaign.name)) == 50  # nothing added


def test_an_earlier_campaign_is_read_from_its_own_store(sources: Path) -> None:
    earlier = sources / "earlier"
    earlier.mkdir()
    _campaign_with(earlier)
    text = (earlier / "campaign.toml").read_text().replace('"synthetic"', '"earlier"')
    (earlier / "campaign.toml").write_text(text)
    assert main(["import", str(earlier), _with_ids(sources / "related.csv")]) == 0
    now = sources / "now"
    now.mkdir()
    raw = tomllib.loads(SYNTHETIC_SPEC.replace("{second}", ""))
    campaign = campaign_from_dict(
        {**raw, "prior": [{"campaign": "../earlier", "differs": "last year's batch"}]}, now
    )
    (found,) = source_rows(campaign)
    assert len(found.rows) == 50 and found.columns == {"yield_pct": "yield_pct"}
    assert found.rows["yield_pct"].max() == pytest.approx(
        pd.read_csv(sources / "related.csv")["yield_pct"].max()
    )
    empty = sources / "empty"
    empty.mkdir()
    _campaign_with(empty)
    campaign = campaign_from_dict(
        {**raw, "prior": [{"campaign": "../empty", "differs": "nothing yet"}]}, now
    )
    with pytest.raises(FormulateError, match="has no records yet"):
        source_rows(campaign)
    assert not (empty / "formulate.db").exists()


def test_a_pool_backtest_learns_from_a_prior_table(sources: Path) -> None:
    out = sources / "bt"
    args = ["backtest", "pool", str(sources / "past.csv"), "--spec", str(sources / "one.toml")]
    args += ["--strategy", "qlognei", "--seeds", "1", "--initial", "3", "--budget", "6"]
    args += ["--prior", str(sources / "related.csv"), "-o", str(out), "--workers", "1"]
    assert main(args) == 0
    settings = json.loads((out / "backtest.json").read_text())
    assert settings["priors"] == [str((sources / "related.csv").resolve())]
    trace = pd.read_csv(out / "runs" / "qlognei" / "seed-000.csv")
    assert len(trace) == 6 and trace["row"].is_unique  # only the pool's rows are experiments


def test_every_transfer_task_loads_with_three_arms() -> None:
    transfer = load_transfer(REPO / "benchmarks" / "transfer")
    assert len(transfer.tasks) >= 4 and ARMS == ("scratch", "related", "unrelated")
    for task in transfer.tasks:
        campaign = load_campaign(task.campaign)
        assert task.differs and campaign.objectives
        try:
            tables = task_tables(task, REPO)
        except FormulateError as err:  # no network and no mirror here
            pytest.skip(f"{task.name}: {err.problems[0].what}")
        target = load_pool(campaign, tables["target"])
        for arm in ("related", "unrelated"):
            source = load_pool(campaign, tables[arm])
            assert len(source) >= 50 and len(target) >= 50
        related = pd.read_csv(tables["related"])
        shuffled = pd.read_csv(tables["unrelated"])
        names = campaign.space.names()
        assert related[names].equals(shuffled[names])  # the same formulations
        outcome = next(c for c in related.columns if c not in names)
        assert sorted(related[outcome]) == sorted(shuffled[outcome])
        assert not related[outcome].equals(shuffled[outcome])


def _mode(campaign: Campaign, transfer: str) -> Campaign:
    strategy = campaign.strategy.model_copy(update={"transfer": transfer})
    return campaign.model_copy(update={"strategy": strategy})


def test_a_stacked_source_is_a_column_whose_mean_follows_it(sources: Path) -> None:
    assert load_campaign(_campaign_with(sources)).strategy.transfer == "stacked"  # the default
    tried, pool = _target(sources, _campaign_with(sources))
    truth = pool["yield_pct"].to_numpy()
    alone = fit_objective(load_campaign(sources / "campaign.toml"), tried, "yield_pct", "gp-onehot")
    err_alone = np.sqrt(np.mean((alone.predict(pool)["mean"] - truth) ** 2))
    related = load_campaign(_campaign_with(sources, ("related.csv", "another condition")))
    helped = fit_objective(_mode(related, "stacked"), tried, "yield_pct", "gp-onehot")
    assert helped.encoder.columns[-1] == "predicted yield_pct from related"
    assert helped.source_rows == 0  # the campaign's own rows only; the source is a column
    kernel_reads = set(lengthscales(helped).index)  # the mean reads it, the kernel does not
    assert "catalyst=C" in kernel_reads and "predicted yield_pct from related" not in kernel_reads
    err_helped = np.sqrt(np.mean((helped.predict(pool)["mean"] - truth) ** 2))
    assert err_helped < 0.2 * err_alone
    notes = transfer_notes(related, {"yield_pct": helped})
    assert notes and "follows the prediction of yield_pct from related" in notes[0]
    assert "(used;" in notes[0]

    unrelated = load_campaign(_campaign_with(sources, ("unrelated.csv", "shuffled")))
    misled = fit_objective(_mode(unrelated, "stacked"), tried, "yield_pct", "gp-onehot")
    err_misled = np.sqrt(np.mean((misled.predict(pool)["mean"] - truth) ** 2))
    assert err_misled < 1.1 * err_alone


def test_a_stacked_source_follows_into_the_categorical_kernel_too(sources: Path) -> None:
    """``gp-mixed`` (BoTorch's categorical kernel for the catalysts, which have no
    descriptors) takes the stacked source's mean as the other families do, so a choosing
    spec can fit it beside sources; as in the others, only the mean reads the source's
    column: the kernels are over the formulation, as without a source."""
    from gpytorch.kernels import Kernel

    from formulate.model.transfer import SourceMean

    tried, pool = _target(sources, _campaign_with(sources))
    truth = pool["yield_pct"].to_numpy()
    campaign = load_campaign(sources / "campaign.toml")
    alone = fit_objective(campaign, tried, "yield_pct", "gp-mixed")
    related = load_campaign(_campaign_with(sources, ("related.csv", "another condition")))
    helped = fit_objective(related, tried, "yield_pct", "gp-mixed")
    assert isinstance(helped.model.mean_module, SourceMean)
    assert helped.encoder.cat_dims and helped.encoder.columns[-1].startswith("predicted")
    source = len(helped.encoder.columns) - 1
    kernels = [k for k in helped.model.covar_module.modules() if isinstance(k, Kernel)]
    read = {int(d) for k in kernels if k.active_dims is not None for d in k.active_dims}
    assert read == set(range(source)) and helped.model.mean_module.columns == [source]
    err_alone, err_helped = (
        np.sqrt(np.mean((m.predict(pool)["mean"] - truth) ** 2)) for m in (alone, helped)
    )
    assert err_helped < 0.5 * err_alone
    assert fit_objective(related, tried, "yield_pct", "gp-chosen").spec.name in {
        "gp-physics",
        "gp-mixed",
    }


def test_an_unknown_transfer_is_refused_before_anything_runs(sources: Path) -> None:
    args = ["backtest", "pool", str(sources / "past.csv"), "--spec", str(sources / "one.toml")]
    args += ["--prior", str(sources / "related.csv"), "--transfer", "magic"]
    args += ["-o", str(sources / "bt")]
    assert main(args) == 2
    assert not (sources / "bt").exists()


@pytest.mark.slow  # BayBE takes tens of seconds per batch here
def test_baybe_learns_from_the_same_source_through_its_task_parameter(sources: Path) -> None:
    pytest.importorskip("baybe")
    from baybe.parameters import TaskParameter

    from formulate.plan.peers import OWN_TASK, _baybe_space, _sources, baybe

    spec = _campaign_with(sources, ("related.csv", "another condition"))
    campaign = load_campaign(spec)
    tried, pool = _target(sources, spec)
    candidates = pool[~pool["membrane"].isin(tried["membrane"])]
    picked = baybe(campaign, tried, 1, 0, candidates)
    assert set(picked.index) <= set(candidates.index)  # pool rows, never a source's
    assert pool.loc[picked.index[0], "catalyst"] == "B"  # the source says B
    rows = _sources(campaign)["related"]
    assert len(rows) == 50 and set(rows["formulate_task"]) == {"related"}
    space = _baybe_space(campaign, candidates, tried, _sources(campaign))
    (task,) = [p for p in space.parameters if isinstance(p, TaskParameter)]
    assert task.active_values == (OWN_TASK,)


def test_the_transfer_scoreboard_counts_stored_scores_and_the_source_start(tmp_path: Path) -> None:
    from formulate.backtest.transfer import write_transfer_board

    transfer = load_transfer(REPO / "benchmarks" / "transfer")
    assert transfer.protocol.initial == 3 and transfer.source_initial == 0
    task = transfer.tasks[0].name
    first = {"scratch": 8.0, "related": 2.0, "unrelated": 8.0}
    stored = pd.DataFrame(
        {
            "task": task,
            "strategy": arm,
            "seed": seed,
            "budget": 30,
            "n to top 5%": first[arm] + seed % 2,
            "top 5% AUC": (0.5 if arm == "related" else 0.2) + 0.01 * seed,
        }
        for arm in first
        for seed in range(6)
    )
    text = write_transfer_board(tmp_path, transfer, stored=stored).read_text()
    assert "from scratch (3 random rows first)" in text and "starting from 0 random rows" in text
    row = next(line for line in text.splitlines() if line.startswith(f"| {task} |"))
    assert "| 8.5 [8, 9] | 6 | 2.5 [2, 3] | 6 |" in row and "| 3.40x |" in row
    assert "6/0/0, p=0.031 better" in row  # related against scratch, seed by seed
    assert len(pd.read_csv(tmp_path / "transfer-scores.csv")) == 18


def test_a_missing_stored_scoreboard_is_refused_before_anything_runs(tmp_path: Path) -> None:
    args = ["backtest", "transfer", "--arm", "related", "--seeds", "1"]
    args += ["--stored", str(tmp_path / "nope.csv"), "-o", str(tmp_path / "out")]
    assert main(args) == 2
    assert not (tmp_path / "out").exists()  # no arm ran


def test_the_transfer_scoreboard_pairs_each_arm_with_baybes_where_both_ran() -> None:
    """Ours with the unrelated source against BayBE with the same source, seed by seed; a task
    where BayBE did not run that arm shows '-', not a number."""
    from formulate.backtest.transfer import transfer_board

    tasks = load_transfer(REPO / "benchmarks" / "transfer").tasks[:2]
    scores = pd.DataFrame(
        {
            "task": task.name,
            "strategy": arm,
            "seed": seed,
            "budget": 30,
            "n to top 5%": 5.0,
            "top 5% AUC": (0.1 if arm == "unrelated/baybe" else 0.3) + 0.01 * seed,
        }
        for task in tasks
        for arm in ("scratch", "related", "unrelated", "unrelated/baybe")
        if arm != "unrelated/baybe" or task is tasks[0]
        for seed in range(6)
    )
    board = transfer_board(scores, tasks).set_index("task")
    first, second = (t.name for t in tasks)
    assert board.loc[first, "unrelated vs unrelated/baybe"] == "6/0/0, p=0.031 better"
    assert board.loc[second, "unrelated vs unrelated/baybe"] == "-"
    assert board.loc[second, "unrelated/baybe: n to top 5%"] == "-"
