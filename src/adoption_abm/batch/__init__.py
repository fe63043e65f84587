"""Batch experiments: designs (factorial, Latin hypercube, Sobol/Saltelli, Morris via SALib),
replications seeded from one root seed, local processes or Dask, a resumable Parquet dataset
with an index and provenance, sensitivity analysis and calibration. See docs/BATCH.md."""

from .designs import child_seed, design_points, run_table
from .experiment import Experiment, ExperimentError, experiment_from_dict, load_experiment
from .params import run
from .runner import BatchReport, run_batch
from .store import read_results

__all__ = [
    "BatchReport",
    "Experiment",
    "ExperimentError",
    "child_seed",
    "design_points",
    "experiment_from_dict",
    "load_experiment",
    "read_results",
    "run",
    "run_batch",
    "run_table",
]
