"""Experiments: the paper's benchmarks (`benchmarks`), the steps of an experiment on them
(`steps`), and the runners that repeat them (`grid`, `ablation`, `active_learning`)."""
