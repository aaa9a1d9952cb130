"""Benchmark: the app's Propose button in a real browser, beside the same proposal in-process.

For each campaign (the realistic one of ``--membranes`` membranes from
:func:`formulate.testing.realistic_folder`, and the demo's campaign after ``formulate demo``),
Streamlit serves ``app.py`` on localhost and Debian's Chromium (Playwright) opens it, goes to
Plan and presses Propose twice; each press is timed from the click to the proposals on screen.
Beside it, in a fresh Python process each, ``OpenCampaign.propose`` on the same store: the
first call (cold: models fitted or read from disk) and a second one (warm). Asserts nothing;
prints a table with the ratio app / in-process.

Run: ``python bench/bench_app_browser.py [--membranes 100] [--skip-demo]``
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from test_browser import CHROMIUM, CHROMIUM_FLAGS, free_port, streamlit_command  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--membranes", type=int, default=100)
    parser.add_argument("--skip-demo", action="store_true")
    parser.add_argument("--in-process", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.in_process:
        print(json.dumps(in_process(Path(args.in_process))))
        return
    warnings.simplefilter("ignore")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        cases = {f"realistic, {args.membranes} membranes": realistic(root / "r", args.membranes)}
        if not args.skip_demo:
            cases["demo campaign (formulate demo)"] = demo(root / "d")
        for label, folder in cases.items():
            cold, warm = json.loads(
                subprocess.run(
                    [sys.executable, __file__, "--in-process", str(folder)],
                    capture_output=True,
                    text=True,
                    check=True,
                ).stdout.splitlines()[-1]
            )
            clear_model_cache(folder)
            first, again = in_browser(folder.parents[1])
            rows.append((label, cold, warm, first, again))
    print("Propose, wall s (app: click to proposals on screen, Chromium; in-process: a call)")
    print(f"{'campaign':36s} {'in-proc cold':>12s} {'warm':>6s} {'app 1st':>8s} {'app 2nd':>8s}")
    for label, cold, warm, first, again in rows:
        print(
            f"{label:36s} {cold:12.2f} {warm:6.2f} {first:8.2f} {again:8.2f}"
            f"   ratio 1st/cold {first / cold:.2f}, 2nd/warm {again / warm:.2f}"
        )


def realistic(root: Path, membranes: int) -> Path:
    from formulate.testing import Realistic, realistic_folder

    campaign, _ = realistic_folder(root, Realistic(membranes=membranes, seed=1))
    return campaign.folder


def demo(root: Path) -> Path:
    root.mkdir(parents=True)
    exe = Path(sys.executable).parent / "formulate"
    subprocess.run([str(exe), "demo"], cwd=root, check=True, capture_output=True)
    out = root / "demo-output"
    return out / "campaigns" / "cheng2023"


def clear_model_cache(folder: Path) -> None:
    """Both sides start from the same state: no fitted model on disk."""
    for cache in folder.glob(".formulate-cache*"):
        shutil.rmtree(cache, ignore_errors=True)


def in_process(folder: Path) -> tuple[float, float]:
    warnings.simplefilter("ignore")
    import formulate

    clear_model_cache(folder)
    c = formulate.open(folder)
    times = []
    for _ in range(2):
        start = time.perf_counter()
        c.propose()
        times.append(time.perf_counter() - start)
    return times[0], times[1]


def in_browser(cwd: Path) -> tuple[float, float]:
    from playwright.sync_api import expect, sync_playwright

    port = free_port()
    proc = subprocess.Popen(
        streamlit_command(port),
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            deadline = time.time() + 90
            while True:
                try:
                    page.goto(f"http://127.0.0.1:{port}")
                    break
                except Exception:
                    if time.time() > deadline:
                        raise
                    time.sleep(0.5)
            expect(page.get_by_role("tab", name="Plan")).to_be_visible(timeout=90_000)
            page.get_by_role("tab", name="Plan").click()
            expect(page.get_by_role("button", name="Propose")).to_be_visible(timeout=90_000)
            page.wait_for_timeout(1000)  # the page is idle before the click
            times = []
            for _ in range(2):
                shown = page.get_by_text("Proposed", exact=True)
                start = time.perf_counter()
                page.get_by_role("button", name="Propose").click()
                if times:  # the last batch's "Proposed" goes while this one is computed
                    expect(shown).to_be_hidden(timeout=30_000)
                expect(shown).to_be_visible(timeout=300_000)
                expect(page.get_by_text("Predicted mean and 95% interval")).to_be_visible()
                times.append(time.perf_counter() - start)
                page.wait_for_timeout(1000)
            browser.close()
            return times[0], times[1]
    finally:
        proc.terminate()
        proc.wait(timeout=20)


if __name__ == "__main__":
    main()
