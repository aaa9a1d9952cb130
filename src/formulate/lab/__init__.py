"""The lab layer: lab plug-ins (the virtual lab, a Python callable, an external command) and
headless runs that propose, measure and log in a loop."""

from formulate.lab.plugins import Lab, measure_formulations, record_results, resolve_lab
from formulate.lab.run import RunResult, run_campaign, run_id
from formulate.lab.virtual import Noise, VirtualLab

__all__ = [
    "Lab",
    "Noise",
    "RunResult",
    "VirtualLab",
    "measure_formulations",
    "record_results",
    "resolve_lab",
    "run_campaign",
    "run_id",
]
