"""The Streamlit app's pages, driven through Streamlit's AppTest (no browser)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from formulate.data import campaign_table, import_table, open_store
from formulate.data.cells import canonical_headers
from formulate.spec.campaign import load_campaign
from formulate.testing import TEMPLATE, emulated

APP = str(Path(__file__).resolve().parents[1] / "app.py")
SUBMIT_LOG = "FormSubmitter:log_form-Log outcome"


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copytree(TEMPLATE, tmp_path / "campaigns" / "cheng2023")
    monkeypatch.chdir(tmp_path)
    return tmp_path


PAGES = ["Data", "Log outcomes", "Plan", "Cycler", "Insights", "Backtests"]


def start(page: str = "Data") -> AppTest:
    """The app with ``page`` open (only the open tab runs, as in the browser)."""
    at = AppTest.from_file(APP, default_timeout=120)
    at.session_state["page"] = page
    at.run()
    assert not at.exception
    return at


def open_page(at: AppTest, page: str) -> AppTest:
    """Click another tab: the app reruns with that page drawn."""
    at.session_state["page"] = page
    return at.run()


def stored(workdir: Path):  # type: ignore[no-untyped-def]
    spec = load_campaign(workdir / "campaigns" / "cheng2023")
    return spec, open_store(spec)


def test_app_shows_the_paper_campaign(workdir: Path) -> None:
    at = start()
    assert at.header[0].value.startswith("Cluster-chain composite")
    assert [m.value for m in at.metric] == ["0", "0", "3", "0"]
    membranes = at.dataframe[1].value.set_index("membrane")
    assert set(membranes.index) == {"PPSE", "CNCSE", "CPCSE"}
    assert membranes.loc["CPCSE", "conductivity [mS/cm]"] == "0.52"  # not 0.0005 S/cm
    assert not [i for i in at.info if "hidden" in i.value]  # every membrane shown at first
    at.multiselect(key="data_hide_prov").set_value(["stated"]).run()
    assert any("3 of 3 membranes hidden" in i.value for i in at.info)
    assert [t.label for t in at.tabs] == PAGES
    assert not [b for b in at.button if b.key == "plan_propose"]  # hidden pages do not run


def test_logging_an_outcome_lands_in_the_store(workdir: Path) -> None:
    at = start("Log outcomes")
    at.sidebar.text_input(key="who").input("ana")
    at.selectbox(key="log_membrane").select("CNCSE")
    at.selectbox(key="log_property").select("li_symmetric_life")
    at.text_input(key="log_value").input("620 h")
    at.checkbox(key="log_censored").check()
    at.button(key=SUBMIT_LOG).click().run()
    # shown as written: the markdown message escapes '_' and '>' (ids are people's text)
    shown = [s.value.replace("\\", "") for s in at.success]
    assert shown == ["Logged CNCSE Li|Li life = >= 620 h."]
    spec, store = stored(workdir)
    meas = store.measurements(spec.name)
    row = meas[(meas["membrane"] == "CNCSE") & (meas["property"] == "li_symmetric_life")].iloc[0]
    assert row["value"] == 620 and row["censored"] and row["recorded_by"] == "ana"
    history = store.measurements(spec.name, history=True)
    assert len(history[history["property"] == "li_symmetric_life"]) == 4  # 3 stated + 1


@pytest.mark.parametrize(
    "value, message", [("1.4", "physical range 0 to 1"), ("fast", "is not a number")]
)
def test_a_bad_value_shows_an_error_and_writes_nothing(
    workdir: Path, value: str, message: str
) -> None:
    at = start("Log outcomes")
    at.selectbox(key="log_property").select("transference_number")
    at.text_input(key="log_value").input(value)
    at.button(key=SUBMIT_LOG).click().run()
    assert at.error and at.error[0].value == "nothing was logged"
    shown = [" ".join(df.value["what"]) for df in at.dataframe if "what" in df.value]
    assert any(message in text for text in shown), shown
    spec, store = stored(workdir)
    assert len(store.measurements(spec.name, history=True)) == 20  # the stated facts only


def test_proposing_creates_pending_membranes(workdir: Path) -> None:
    spec, store = stored(workdir)
    import_table(
        spec,
        store,
        canonical_headers(
            spec,
            emulated(spec, 12, seed=41).drop(columns=["film_formed"]).assign(provenance="emulated"),
        ),
    )
    at = start("Plan")
    at.selectbox(key="plan_strategy").select("qlognehvi")
    at.number_input(key="plan_batch").set_value(2)
    at.button(key="plan_propose").click().run()
    assert not at.error, [e.value for e in at.error]
    assert [c.value for c in at.caption if "Propos" in c.value] == [
        ":material/check_circle: Proposed"
    ]  # the status line: done, no step left behind
    proposals = [df.value for df in at.dataframe if "conductivity [mS/cm] (95%)" in df.value]
    assert len(proposals) == 1 and len(proposals[0]) == 2
    lives = proposals[0]["Li|Li life [h] (95%)"].astype(str)
    assert lives.str.fullmatch(r"\S+ \[\S+, \S+\]").all()
    bounds = lives.str.extract(r"\[(\S+), (\S+)\]").astype(float)
    assert (bounds[1] <= 1500.0).all() and (bounds[0] < bounds[1]).all()  # stops at the horizon
    said = [c.value for c in at.caption if "Predicted mean" in c.value]
    assert said and "Li|Li life as a test to 1500 h shows it" in said[0]
    reasons = [m.value for m in at.markdown if "chance to beat the best" in m.value]
    assert len(reasons) == 1 and reasons[0].startswith("1. ")
    at.button(key="plan_accept").click().run()
    assert at.success and "Batch 1 stored" in at.success[0].value.replace("\\", "")
    table = campaign_table(spec, store)
    assert sorted(table.loc[table["status"] == "pending", "membrane"]) == ["B1-1", "B1-2"]
    accepted = [df.value for df in at.dataframe if "batch" in df.value and "reason" in df.value]
    assert accepted and accepted[0]["membrane"].tolist() == ["B1-1", "B1-2"]  # ids to download
    # the next page is drawn from the store: no reload needed to log the new batch
    open_page(at, "Log outcomes")
    assert {"B1-1", "B1-2"} <= set(at.selectbox(key="log_membrane").options)
    assert {"B1-1", "B1-2"} <= set(at.multiselect(key="abandon_membranes").options)


def test_a_warm_up_batch_says_so(workdir: Path) -> None:
    """The paper states conductivity for one membrane only: the first batch is the warm-up's,
    and the Plan page says why instead of showing it as predictions."""
    at = start("Plan")
    at.number_input(key="plan_batch").set_value(2)
    at.button(key="plan_propose").click().run()
    assert not at.error, [e.value for e in at.error]
    warned = [w.value.replace("\\", "") for w in at.warning if "Warm" in w.value]
    assert warned and "until each objective is measured on 3 membranes" in warned[0]
    reasons = [m.value.replace("\\", "") for m in at.markdown if m.value.startswith("1. ")]
    assert reasons and "warm-up (sobol)" in reasons[0]


def test_new_campaign_from_the_sidebar(workdir: Path) -> None:
    at = start()
    at.sidebar.text_input(key="new_name").input("lab2")
    at.sidebar.button(key="new_create").click().run()
    assert (workdir / "campaigns" / "lab2" / "campaign.toml").is_file()
    assert at.sidebar.selectbox(key="campaign").value == "lab2"  # the new one is open
    assert at.header[0].value == "lab2" and [m.value for m in at.metric] == ["0"] * 4  # blank
    for page in PAGES:  # every page draws on a campaign with no data
        open_page(at, page)
        assert not at.exception, page
    open_page(at, "Insights")
    assert any("Needs membranes with both measured" in i.value for i in at.info)
    at.sidebar.text_input(key="new_name").input("bad name!")
    at.sidebar.button(key="new_create").click().run()
    assert any("bad campaign name" in e.value for e in at.error)


def test_app_without_campaigns_says_how_to_make_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert "formulate init" in at.info[0].value


def test_a_small_backtest_runs_from_the_app_and_is_shown(workdir: Path) -> None:
    at = start("Backtests")
    assert any("No backtests yet" in i.value for i in at.info)
    assert at.multiselect(key="bt_strategies").value == ["qlognehvi", "random"]  # its own
    at.selectbox(key="bt_kind").select("pool: filler_ratio.csv")
    at.multiselect(key="bt_objectives").set_value(["ionic_conductivity"])
    at.multiselect(key="bt_strategies").set_value(["random", "ofat"])
    at.number_input(key="bt_seeds").set_value(2)
    at.number_input(key="bt_budget").set_value(5)
    at.button(key="bt_run").click().run()
    assert not at.exception
    assert at.success[0].value.startswith("Stored in backtests")
    summary = at.dataframe[-1].value
    assert list(summary["strategy"]) == ["random", "ofat"]
    assert (summary["seeds"].astype(int) == 2).all()
    assert not any("No backtests yet" in i.value for i in at.info)  # listed at once
    assert at.selectbox(key="bt_folder").value.name.startswith("cheng2023-pool-")
    # the stored result is listed next time the page opens
    again = start("Backtests")
    assert again.selectbox(key="bt_folder").value is not None


def test_editing_the_campaign_saves_a_new_version_and_keeps_the_data(workdir: Path) -> None:
    folder = workdir / "campaigns" / "cheng2023"
    before = (folder / "campaign.toml").read_text()
    at = start()
    dropped = before.replace(
        "levels.PEO = { tg_C = -60.0, melting_C = 65.0, density_g_cm3 = 1.21 }\n", ""
    )
    assert dropped != before
    at.text_area(key="edit_cheng2023").input(dropped)
    at.button(key="edit_save").click().run()
    problems = [df.value for df in at.dataframe if "what" in df.value]
    assert problems and "used by 3 membrane(s)" in " ".join(problems[0]["what"])
    assert (folder / "campaign.toml").read_text() == before  # nothing written
    at.text_area(key="edit_cheng2023").input(before.replace('name = "cheng2023"', 'name = "x"'))
    at.button(key="edit_save").click().run()
    assert any("renames the campaign" in e.value for e in at.error)
    wider = before.replace("low = 6.0\nhigh = 30.0", "low = 6.0\nhigh = 40.0")
    at.text_area(key="edit_cheng2023").input(wider)
    at.button(key="edit_save").click().run()
    assert not at.error, [e.value for e in at.error]
    assert (folder / "versions" / "campaign.1.toml").read_text() == before
    assert load_campaign(folder).space.bounds("eo_li_ratio") == (6.0, 40.0)
    assert [m.value for m in at.metric] == ["0", "0", "3", "0"]  # the data is kept


def test_the_cycler_page_starts_ranks_and_stops_cells(workdir: Path) -> None:
    spec, store = stored(workdir)
    made = emulated(spec, 10, seed=43)
    made = made[made["film_formed"] == 1].drop(
        columns=["film_formed", "li_symmetric_life", "li_symmetric_life_censored"]
    )
    import_table(spec, store, canonical_headers(spec, made.assign(provenance="emulated")))
    at = start("Cycler")
    assert any("Channels: 0 of 8 in use" in s.value for s in at.subheader)
    at.button(key="cycler_rank").click().run()
    assert not at.error, [e.value for e in at.error]
    ranked = [m.value for m in at.markdown if m.value.startswith("1. **")]
    assert ranked and "Li\\|Li life predicted" in ranked[0]
    first = at.selectbox(key="cycler_membrane").value
    assert ranked[0].replace("\\", "").startswith(f"1. **{first}**")  # best first in the form
    at.text_input(key="cycler_channel").input("3")
    at.button(key="FormSubmitter:cycler_start-Start the cell now").click().run()
    assert "Started" in at.success[0].value
    assert any("Channels: 1 of 8 in use" in s.value for s in at.subheader)
    from formulate.data.cell_tests import cell_tests

    tests = cell_tests(spec, store)
    assert tests[["membrane", "channel", "state"]].values.tolist() == [[first, "3", "running"]]
    at.button(key="cycler_stop").click().run()
    assert "Stopped" in at.success[0].value.replace("\\", "")
    assert cell_tests(spec, store)["state"].tolist() == ["stopped"]


def test_the_cycler_page_says_why_nothing_can_go_on_test(workdir: Path) -> None:
    """The paper's three membranes all have their life: no candidate, no start form with a
    membrane that already has its result, and the reason."""
    at = start("Cycler")
    info = " ".join(i.value for i in at.info)
    assert "No membrane to test for Li|Li life" in info.replace("\\", "")
    assert "3 have a Li" in info.replace("\\", "")
    assert not [s for s in at.selectbox if s.key == "cycler_membrane"]


# --- a shared campaign: sign-in and roles ------------------------------------------------------

PASSWORD = "correct horse battery"


def with_accounts(workdir: Path) -> None:
    """ana admin, bo member, cy viewer of the paper's campaign."""
    from formulate.data import accounts
    from formulate.data.access import Account

    spec, store = stored(workdir)
    accounts.add_account(store, "ana", spec.name, "admin", password=PASSWORD)
    for name, role in (("bo", "member"), ("cy", "viewer")):
        accounts.add_account(store.acting_as(Account("ana")), name, spec.name, role, PASSWORD)


def signed_in(name: str, page: str = "Data", password: str = PASSWORD) -> AppTest:
    at = start(page)
    at.text_input(key="login_name").input(name)
    at.text_input(key="login_password").input(password)
    at.button(key="FormSubmitter:sign_in-Sign in").click().run()
    return at


def keys(at: AppTest) -> set[str]:
    return {w.key for w in [*at.button, *at.text_area, *at.text_input] if w.key}


def test_a_store_with_accounts_shows_only_the_sign_in(workdir: Path) -> None:
    with_accounts(workdir)
    at = start("Plan")
    assert not at.tabs and not at.dataframe and not at.metric  # nothing but the form
    assert {"login_name", "login_password"} <= keys(at) and "plan_propose" not in keys(at)
    at = signed_in("bo", password="wrong password")
    assert any("wrong account name or password" in e.value for e in at.error) and not at.tabs


def test_each_role_sees_only_the_controls_it_may_use(workdir: Path) -> None:
    with_accounts(workdir)
    viewer = signed_in("cy", "Plan")
    assert [t.label for t in viewer.tabs] == PAGES and "plan_propose" not in keys(viewer)
    assert any("You are a viewer" in i.value for i in viewer.info)
    assert not {"edit_save", "new_create", "who"} & keys(viewer)  # the account is the name
    open_page(viewer, "Log outcomes")
    assert "log_value" not in keys(viewer)
    member = signed_in("bo", "Plan")
    assert "plan_propose" in keys(member) and "edit_save" not in keys(member)
    open_page(member, "Log outcomes")
    assert "log_value" in keys(member) and not [m for m in member.multiselect
                                                 if m.key == "abandon_membranes"]  # fmt: skip
    member.selectbox(key="log_property").select("transference_number")
    member.text_input(key="log_value").input("0.5")
    member.button(key=SUBMIT_LOG).click().run()
    spec, store = stored(workdir)
    logged = store.measurements(spec.name, history=True)
    assert logged["recorded_by"].iloc[-1] == "bo"
    admin = signed_in("ana")
    assert {"edit_save", "new_create"} <= keys(admin)


def test_a_session_ends_after_its_hours(workdir: Path) -> None:
    from datetime import timedelta

    from formulate.data.schema import utcnow
    from formulate.ui.login import SESSION_HOURS

    with_accounts(workdir)
    at = signed_in("bo")
    assert at.tabs
    at.session_state["_signed_in"] = (
        "bo",
        "password",
        utcnow() - timedelta(hours=SESSION_HOURS + 1),
    )
    at.run()
    assert not at.tabs and any("session ended" in i.value for i in at.info)


def test_an_admin_manages_people_from_the_app(workdir: Path) -> None:
    from formulate.data import accounts

    at = start()
    assert at.tabs and "people_change_name" not in keys(at)  # one person: nothing to manage
    at.sidebar.text_input(key="people_name").input("ana")  # start sharing: the first admin
    at.sidebar.text_input(key="people_password").input(PASSWORD)
    at.sidebar.button(key="FormSubmitter:people_add-Add").click().run()
    assert not at.tabs and "login_name" in keys(at)  # from now on, everyone signs in
    at = signed_in("ana")
    at.sidebar.text_input(key="people_name").input("bo")
    at.sidebar.selectbox(key="people_role").select("member")
    at.sidebar.text_input(key="people_password").input("short")
    at.sidebar.button(key="FormSubmitter:people_add-Add").click().run()
    shown = [" ".join(df.value["what"]) for df in at.dataframe if "what" in df.value]
    assert shown == ["5 characters"]  # the password refused, with its fix beside it
    at.sidebar.text_input(key="people_name").input("bo")
    at.sidebar.text_input(key="people_password").input(PASSWORD)
    at.sidebar.button(key="FormSubmitter:people_add-Add").click().run()
    spec, store = stored(workdir)
    assert accounts.role_of(store, "bo", spec.name) == "member"
    at.sidebar.selectbox(key="people_change_name").select("bo")
    at.sidebar.selectbox(key="people_change_role").select("viewer")
    at.sidebar.button(key="FormSubmitter:people_role-Change the role").click().run()
    assert accounts.role_of(store, "bo", spec.name) == "viewer"


def test_an_admin_picks_an_earlier_campaign_and_sees_how_well_it_predicts(
    workdir: Path,
) -> None:
    earlier = workdir / "campaigns" / "earlier"
    shutil.copytree(TEMPLATE, earlier)
    text = (earlier / "campaign.toml").read_text().replace('name = "cheng2023"', 'name = "earlier"')
    (earlier / "campaign.toml").write_text(text)
    old = load_campaign(earlier)
    rows = emulated(old, 12, seed=7).drop(columns=["film_formed"]).assign(provenance="emulated")
    import_table(old, open_store(old), canonical_headers(old, rows))
    spec, store = stored(workdir)
    own = emulated(spec, 8, seed=8).drop(columns=["film_formed"]).assign(provenance="emulated")
    import_table(spec, store, canonical_headers(spec, own))
    folder = workdir / "campaigns" / "cheng2023"
    before = (folder / "campaign.toml").read_text()
    at = start()
    at.selectbox(key="prior_campaign").select("earlier")
    at.button(key="prior_add").click().run()
    problems = [df.value for df in at.dataframe if "where" in df.value]
    assert problems and "prior.0.differs" in " ".join(problems[0]["where"])
    assert (folder / "campaign.toml").read_text() == before  # nothing written
    at.text_input(key="prior_differs").input("cast a year earlier, another THF batch")
    at.button(key="prior_add").click().run()
    assert not at.error, [e.value for e in at.error]
    assert (folder / "versions" / "campaign.1.toml").read_text() == before
    assert load_campaign(folder).priors[0].differs == "cast a year earlier, another THF batch"
    open_page(at, "Insights")
    assert "earlier: 15 rows" in [t.value for t in at.text]  # 12 emulated, 3 stated
    at.button(key="insights_priors").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    said = [m.value for m in at.markdown if "rank correlation" in m.value]
    assert len(said) == 3  # one per objective
    assert all("the campaign's model learned it carries" in s for s in said)
    assert not any("carries nan" in s for s in said)
    open_page(at, "Data")
    assert [m.value for m in at.metric][2] == str(len(own) + 3)  # its own and 3 stated only
