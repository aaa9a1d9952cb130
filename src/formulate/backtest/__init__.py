"""Backtests: replay strategies against an oracle (past experiments or the virtual lab), over
seeds, and report how many experiments each needs."""

from formulate.backtest.oracles import EmulatorOracle, Oracle, PoolOracle, load_pool
from formulate.backtest.report import Report
from formulate.backtest.runner import Backtest, open_backtest, prepare, run_backtest, run_one
from formulate.backtest.settings import (
    SETTINGS_FILE,
    Settings,
    backtest_campaign,
    default_strategies,
)

__all__ = [
    "SETTINGS_FILE",
    "Backtest",
    "EmulatorOracle",
    "Oracle",
    "PoolOracle",
    "Report",
    "Settings",
    "backtest_campaign",
    "default_strategies",
    "load_pool",
    "open_backtest",
    "prepare",
    "run_backtest",
    "run_one",
]
