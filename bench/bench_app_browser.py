"""Benchmark: the app's Propose button in a real browser, beside the same proposal in-process.

For each campaign (the realistic one of ``--membranes`` membranes from
:func:`formulate.testing.realistic_folder`, and the demo's campaign after ``formulate demo``),
Streamlit serves ``app.py`` on localhost and Debian's Chromium (Playwright) opens it, goes to
Plan and presses Propose; each press is timed by the page's own clock, from the click to the
proposals drawn (see :data:`WATCH`).
Beside it, a Python process of its own calls ``OpenCampaign.propose`` on the same store.

First the cold pair: the in-process call with no fitted model on disk, then the cache is
cleared and the app's first press. Then ``--presses`` warm pairs, alternating one in-process
call and one press, so that both sides of a pair see the same machine (a shared 2-core host's
speed drifts by tens of percent within minutes). Asserts nothing; prints per campaign the
cold ratio and the median of the warm pairs' ratios with their range.

Run: ``python bench/bench_app_browser.py [--membranes 100] [--presses 5] [--skip-demo]``
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from test_browser import CHROMIUM, CHROMIUM_FLAGS, free_port, streamlit_command  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--membranes", type=int, default=100)
    parser.add_argument("--presses", type=int, default=5, help="warm pairs per campaign")
    parser.add_argument("--skip-demo", action="store_true")
    parser.add_argument("--in-process", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.in_process:
        serve_calls(Path(args.in_process))
        return
    warnings.simplefilter("ignore")
    print("Propose, wall s (app: click to proposals on screen, Chromium; in-process: a call)")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        cases = {f"realistic, {args.membranes} membranes": realistic(root / "r", args.membranes)}
        if not args.skip_demo:
            cases["demo campaign (formulate demo)"] = demo(root / "d")
        for label, folder in cases.items():
            pairs = race(folder, args.presses)
            report(label, pairs)


def report(label: str, pairs: list[tuple[float, float]]) -> None:
    """The cold pair, then each warm pair and the median of their ratios."""
    (cold, first), warm = pairs[0], pairs[1:]
    ratios = [app / call for call, app in warm]
    print(f"{label}: cold {cold:.2f} s in-process, {first:.2f} s app (ratio {first / cold:.2f})")
    print("  warm pairs (in-process / app): " + ", ".join(f"{c:.2f}/{a:.2f}" for c, a in warm))
    print(
        f"  warm: in-process median {statistics.median(c for c, _ in warm):.2f} s, app median "
        f"{statistics.median(a for _, a in warm):.2f} s; ratio median "
        f"{statistics.median(ratios):.2f} (range {min(ratios):.2f}-{max(ratios):.2f})"
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


def serve_calls(folder: Path) -> None:
    """The in-process side: one ``propose`` per line read, its wall seconds printed."""
    warnings.simplefilter("ignore")
    import formulate

    c = formulate.open(folder)
    for _ in sys.stdin:
        start = time.perf_counter()
        c.propose()
        print(time.perf_counter() - start, flush=True)


def race(folder: Path, presses: int) -> list[tuple[float, float]]:
    """``(in-process, app)`` seconds: the cold pair, then ``presses`` warm pairs."""
    from playwright.sync_api import sync_playwright

    clear_model_cache(folder)
    calls = subprocess.Popen(
        [sys.executable, __file__, "--in-process", str(folder)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    port = free_port()
    server = subprocess.Popen(
        streamlit_command(port),
        cwd=folder.parents[1],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        cold = call(calls)
        clear_model_cache(folder)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
            page = open_plan(browser, port)
            pairs = [(cold, press(page))]
            for _ in range(presses):
                pairs.append((call(calls), press(page)))
            browser.close()
        return pairs
    finally:
        for proc in (calls, server):
            proc.terminate()
            proc.wait(timeout=20)


def call(calls: subprocess.Popen[str]) -> float:
    assert calls.stdin is not None and calls.stdout is not None
    calls.stdin.write("propose\n")
    calls.stdin.flush()
    return float(calls.stdout.readline())


def open_plan(browser: Any, port: int) -> Any:
    """The app's Plan tab, idle, in a new page."""
    from playwright.sync_api import expect

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
    return page


WATCH = """() => {
  const t = (window.__propose = {});
  const stamp = () => { t.click = performance.now(); };
  document.addEventListener("click", stamp, {capture: true, once: true});
  const watch = new MutationObserver(() => {
    const shown = document.body.innerText.includes("Proposed");
    if (t.click === undefined) return;
    if (!shown) t.armed = true;
    else if (t.armed && t.proposed === undefined) t.proposed = performance.now();
    if (t.proposed !== undefined) t.settled = performance.now();
  });
  const all = {subtree: true, childList: true, characterData: true, attributes: true};
  watch.observe(document.body, all);
  t.stop = () => watch.disconnect();
}"""
"""Timestamps in the page itself, so that nothing polls the page while the server computes
(on 2 cores, Playwright's own polling would take CPU from the proposal): ``click``; ``armed``
once the last batch's "Proposed" has gone (the rerun reached the Propose step);
``proposed`` when "Proposed" is back (the status after the call returned); ``settled`` at
the last change of the page after it (the proposals drawn)."""


def press(page: Any) -> float:
    """Seconds from a click on Propose to its proposals drawn (the page's last change after
    the status says "Proposed"), measured by the page's own clock."""
    from playwright.sync_api import expect

    page.evaluate(WATCH)
    page.get_by_role("button", name="Propose").click()
    page.wait_for_function(
        "() => window.__propose.proposed !== undefined", polling=500, timeout=300_000
    )
    page.wait_for_timeout(1500)  # the rest of the rerun: the proposals' table and reasons
    t = page.evaluate("() => { window.__propose.stop(); return window.__propose; }")
    expect(page.get_by_text("Predicted mean and 95% interval")).to_be_visible()
    return (t["settled"] - t["click"]) / 1000


if __name__ == "__main__":
    main()
