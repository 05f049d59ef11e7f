"""Speed benchmarks (not part of the installed package). Run the scripts from the repo:
`python bench/speed.py` (our pipeline), `python bench/peers.py` (beside spaCy's CNN NER
and Flair), `python bench/transformer_speed.py`, `python bench/annotate_scaling.py`
(`annotate` words/s in one process, two processes and on Dask 1 and 2 workers).

- `data.py`: the sentences (synthetic, a tagged file or a DocBin);
- `machine.py`: hardware, peak memory, other processes' CPU use;
- `pipelines.py`: the pipelines timed, built from a shipped config;
- `timing.py`: words/s of `nlp.pipe`, tokens/s of `nlp.update`;
- `isolation.py`: one subprocess per phase, so each peak memory is its own;
- `options.py`: the command-line options the scripts share;
- `profiling.py`: where the time goes (`torch.profiler`);
- `report.py`: the tables printed;
- `flair_worker.py`: Flair's side of peers.py, run in Flair's own environment;
- `checkout_worker.py`: our pipeline at an older checkout (peers.py's `--baseline-root`),
  run in that checkout's environment: the before/after speed check of a change.
"""
