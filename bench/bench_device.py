"""Benchmark: the planner on CPU and on CUDA, a batch of 16 over ~10^5 candidates.

On the same emulated data (100 membranes of the cheng2023 space, 3 objectives), for each
device: ``propose`` with qLogNEHVI, a batch of 16, a candidate pool of ``--pool`` formulations
(spread over the 21 allowed combinations of levels), models fitted cold; median of repeats.
Then, with the models fitted on the CPU and copied to the GPU, the posterior mean and standard
deviation of every candidate on both devices (float64): the largest difference says whether
CUDA's results equal the CPU's within tolerance. Prints figures; asserts nothing.

Run: ``python bench/bench_device.py [--pool 100000] [--repeats 2]`` (CUDA rows only where a
GPU is present).
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from formulate.model import surrogates
from formulate.plan.planner import Request, fit_models, propose
from formulate.plan.pool import candidate_pool
from formulate.spec.campaign import load_campaign
from formulate.testing import TEMPLATE, Realistic, realistic_campaign


def run(pool: int, repeats: int, batch: int) -> None:
    campaign = load_campaign(TEMPLATE)
    table = realistic_campaign(campaign, Realistic(membranes=100, seed=1))
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    print(f"torch {torch.__version__}; {torch.get_num_threads()} CPU threads")
    if torch.cuda.is_available():
        print(f"GPU: {torch.cuda.get_device_name(0)}")
    n_pool = len(candidate_pool(campaign.space, pool, seed=0))
    print(f"{len(table)} membranes, batch of {batch}, candidate pool {n_pool} formulations")
    picks = {}
    for device in devices:
        times = []
        for _ in range(repeats):
            surrogates._MEMORY.clear()
            request = Request(
                batch_size=batch, pool_size=pool, device=device, seed=0, disk_cache=False
            )
            start = time.perf_counter()
            out = propose(campaign, table, request)
            if device == "cuda":
                torch.cuda.synchronize()
            times.append(time.perf_counter() - start)
        picks[device] = out
        print(
            f"{device:5s} propose (fit + acquisition): median {statistics.median(times):6.2f} s "
            f"(runs: {', '.join(f'{t:.2f}' for t in times)})"
        )
    if "cuda" not in picks:
        print("no CUDA device: CPU figures only")
        return
    names = campaign.space.names()
    same = len(
        set(map(tuple, picks["cpu"][names].round(9).astype(str).values))
        & set(map(tuple, picks["cuda"][names].round(9).astype(str).values))
    )
    print(f"proposals in common, CPU vs CUDA: {same} of {batch}")
    surrogates._MEMORY.clear()
    fitted = fit_models(campaign, table, device="cpu", disk_cache=False)
    encoder = next(iter(fitted.objectives.values())).encoder
    X = encoder.encode(candidate_pool(campaign.space, pool, seed=0))
    model = fitted.model_list()
    with torch.no_grad():
        start = time.perf_counter()
        cpu = [model.posterior(x) for x in X.split(8192)]
        t_cpu = time.perf_counter() - start
        model_gpu = model.to("cuda")
        for m in model_gpu.models:
            m.prediction_strategy = None  # cached on the CPU; rebuilt on the GPU
        Xg = X.to("cuda")
        model_gpu.posterior(Xg[:8]).mean  # noqa: B018 (warm-up)
        torch.cuda.synchronize()
        start = time.perf_counter()
        gpu = [model_gpu.posterior(x) for x in Xg.split(8192)]
        torch.cuda.synchronize()
        t_gpu = time.perf_counter() - start
    mean_c = torch.cat([p.mean for p in cpu])
    mean_g = torch.cat([p.mean for p in gpu]).cpu()
    sd_c = torch.cat([p.variance for p in cpu]).sqrt()
    sd_g = torch.cat([p.variance for p in gpu]).cpu().sqrt()
    print(
        f"posterior of {len(X)} candidates x 3 objectives: CPU {t_cpu:.2f} s, CUDA {t_gpu:.3f} s; "
        f"max |mean diff| {float((mean_c - mean_g).abs().max()):.2e}, "
        f"max |sd diff| {float((sd_c - sd_g).abs().max()):.2e} (model scale)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pool", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--batch", type=int, default=16)
    args = parser.parse_args()
    run(args.pool, args.repeats, args.batch)


if __name__ == "__main__":
    main()
