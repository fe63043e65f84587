"""What bounds the kernel's rate at 10^6 professionals: the same step on the same states with
the ties' targets changed, side by side in one run (diagnosis only: the changed networks give
other results, so nothing here is compared with the reference).

    python experiments/bench_locality.py [--sizes 1e5,1e6] [--network twenty] [--mode scan]
        [--rounds 3] [--reps 5] [--json] [--out results/bench_locality.json]

Variants of the network, each with the same rows, degrees and number of ties:

* ``as built``: the model's network (rows ordered by establishment);
* ``targets in 1e5 rows``: every tie's target taken modulo 100,000, so the packed state bytes
  the tie loop reads fit in 100 KB as at 10^5 (the CSR arrays stay as large);
* ``sorted targets``: each row's targets in increasing order (the same set);
* ``near targets``: every tie pointing further than 2,048 rows away moved to a row next to
  its professional (what ordering rows to shorten ties could at best achieve).

Also the share of ties that point further than 2,048 and 65,536 rows away. Rates are million
agent-updates per second from the best CPU time of ``--reps`` one-month steps, one thread, the
worst case of ``experiments/bench_step.py`` (every decision reads its ties in ``scan`` mode).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_step import states  # noqa: E402

from adoption_abm.engines import registry  # noqa: E402
from adoption_abm.model.network import Network  # noqa: E402

NEAR = 2048


def variants(net: Network) -> dict[str, Network]:
    n = len(net.indptr) - 1
    rows = np.repeat(np.arange(n, dtype=np.int64), np.diff(net.indptr))
    idx = net.indices
    srt = idx.copy()
    for lo in range(0, n, 65536):  # sort each row's targets, in blocks of rows
        hi = min(n, lo + 65536)
        a, b = net.indptr[lo], net.indptr[hi]
        key = rows[a:b] * n + idx[a:b]
        srt[a:b] = (np.sort(key) % n).astype(np.int32)
    far = np.abs(idx.astype(np.int64) - rows) > NEAR
    near = idx.copy()
    near[far] = ((rows[far] + 1 + (idx[far] % 64)) % n).astype(np.int32)
    return {
        "as built": net,
        "targets in 1e5 rows": Network(net.indptr, (idx % min(n, 100_000)).astype(np.int32)),
        "sorted targets": Network(net.indptr, srt),
        "near targets": Network(net.indptr, near),
    }


def distances(net: Network) -> dict[str, float]:
    n = len(net.indptr) - 1
    rows = np.repeat(np.arange(n, dtype=np.int64), np.diff(net.indptr))
    d = np.abs(net.indices.astype(np.int64) - rows)
    return {f"share_further_than_{k}": float((d > k).mean()) for k in (NEAR, 65536)}


def best_cpu(step, model, net, par, reps: int, saved) -> float:
    new_state = np.empty_like(model.pop.state)
    best = np.inf
    for r in range(reps):
        model.pop.skill[...], model.pop.trained[...] = saved
        t = time.process_time()
        step(model.pop, model.est, net, par, np.uint64(1000 + r), new_state)
        best = min(best, time.process_time() - t)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="1e5,1e6")
    ap.add_argument("--network", default="twenty")
    ap.add_argument("--mode", default="scan", help="scan or lazy")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    step = registry.get_engine("cython", lazy=args.mode == "lazy")
    load = os.getloadavg()
    rows = []
    for size in [int(float(s)) for s in args.sizes.split(",")]:
        (model,) = states(size, args.network, "worst")
        par = model.month_params(model.month + 1)
        saved = (model.pop.skill.copy(), model.pop.trained.copy())
        nets = variants(model.network)
        seconds = {k: np.full(args.rounds, np.inf) for k in nets}
        for r in range(args.rounds):
            names = list(nets) if r % 2 == 0 else list(nets)[::-1]
            for k in names:
                seconds[k][r] = best_cpu(step, model, nets[k], par, args.reps, saved)
        base = seconds["as built"]
        for k, s in seconds.items():
            rows.append(
                {"size": size, "agents": model.pop.n, "network": args.network,
                 "variant": k, "mode": args.mode, "per_s": model.pop.n / s.min(),
                 "over_as_built": base.min() / s.min(),
                 "over_as_built_median_round": float(np.median(base / s))}
                | (distances(nets[k]) if k == "as built" else {})
            )  # fmt: skip
        print(f"  {size:>9,} done", file=sys.stderr)
    result = {
        "benchmark": "bench_locality",
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "load_average_at_start": load,
        "load_average_at_end": os.getloadavg(),
        "rows": rows,
    }
    if args.out:
        from adoption_abm.outputs.atomic import write_json_atomic

        write_json_atomic(args.out, result)
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"load average {load[0]:.2f} -> {result['load_average_at_end'][0]:.2f}")
    for r in rows:
        extra = "".join(f" {k[6:]}={v:.3f}" for k, v in r.items() if k.startswith("share_"))
        print(
            f"{r['agents']:>9,} {r['variant']:<20} {r['per_s'] / 1e6:6.1f} M/s  "
            f"x{r['over_as_built']:.2f} (median x{r['over_as_built_median_round']:.2f}){extra}"
        )


if __name__ == "__main__":
    main()
