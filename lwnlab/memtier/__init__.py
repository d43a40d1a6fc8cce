"""Lab 4: top-tier memory management, a page-level simulation of Linux's memory tiering.

* :mod:`~lwnlab.memtier.params`: frozen dataclasses whose defaults are Linux 6.12's values
  (field docs give the merged knob name and the proposal's);
* :mod:`~lwnlab.memtier.machine`: tiers from abstract distance, min/low/high/promo watermarks,
  demotion targets, the cost model;
* :mod:`~lwnlab.memtier.workloads`: access patterns generated in numba, deterministic per seed;
* :mod:`~lwnlab.memtier.sim`: the numba loop (allocation, LRU and kswapd demotion, NUMA scanning,
  hint faults, 5.18/6.1 promotion, rate limit, threshold adjustment, the RFC's soft limits);
* :mod:`~lwnlab.memtier.results`, :mod:`~lwnlab.memtier.experiments`, :mod:`~lwnlab.memtier.presets`,
  :mod:`~lwnlab.memtier.widgets`, :mod:`~lwnlab.memtier.exercises`, :mod:`~lwnlab.memtier.cli`.

Quick start::

    from lwnlab.memtier import presets, sim
    print(sim.run(presets.default()).summary())
"""
