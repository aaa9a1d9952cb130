"""Benchmark: the app's buttons as a user presses them, on a realistic campaign.

A campaign of ``N`` membranes from :func:`formulate.testing.realistic_campaign` is imported
into a fresh campaign folder; Streamlit's AppTest then drives ``app.py`` (the script a user
runs): the first page load, pressing Propose (cold: no model fitted yet; then again), and
changing the model slice's objective and variable. Each figure is the wall time of one
interaction (a full script rerun, as in the browser). Asserts nothing.

Run: ``python bench/bench_app.py [--membranes 100]``
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import warnings
from pathlib import Path

from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[1] / "app.py")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--membranes", type=int, default=100)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    from formulate.testing import Realistic, realistic_folder

    with tempfile.TemporaryDirectory() as tmp:
        realistic_folder(Path(tmp), Realistic(membranes=args.membranes, seed=1))
        os.chdir(tmp)
        rows = []

        def timed(label: str, action) -> AppTest:  # type: ignore[no-untyped-def]
            start = time.perf_counter()
            out = action()
            rows.append((label, time.perf_counter() - start))
            return out

        at = AppTest.from_file(APP, default_timeout=600)
        at.session_state["page"] = "Plan"  # only the open tab runs, as in the browser
        timed("first page load (Plan)", lambda: at.run())
        timed("Propose (cold)", lambda: at.button(key="plan_propose").click().run())
        timed("Propose (again)", lambda: at.button(key="plan_propose").click().run())
        at.session_state["page"] = "Insights"
        timed("open Insights", lambda: at.run())
        timed(
            "change the slice's objective",
            lambda: at.selectbox(key="slice_prop").select("transference_number").run(),
        )
        timed(
            "change the slice's variable",
            lambda: at.selectbox(key="slice_var").select("eo_li_ratio").run(),
        )
        timed("rerun, nothing changed", lambda: at.run())
        if at.exception:
            raise RuntimeError(at.exception[0].value)
    print(f"app.py on a realistic campaign of {args.membranes} membranes (AppTest, wall s)")
    for label, seconds in rows:
        print(f"  {label:32s} {seconds:6.2f}")


if __name__ == "__main__":
    main()
