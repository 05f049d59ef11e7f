"""The tables the benchmarks print: the machine and data, one row per (system, phase,
batch size), a profile's breakdown, and the ratios of our rates to the peers'."""

from typing import Any, Dict, List, Optional, Sequence, Tuple

Targets = Dict[str, Tuple[Optional[int], float]]  # phase -> (batch size or None: any, rate)


def print_context(hardware: Dict[str, Any], data: Dict[str, Any], data_label: str) -> None:
    """The machine and the data, two lines."""
    print(
        f"hardware: {hardware['cpu']} | {hardware['cores']} cores ({hardware['usable_cores']} usable) | "
        f"torch threads {hardware['torch_threads']} | torch {hardware['torch']}, spacy {hardware['spacy']}, "
        f"thinc {hardware['thinc']}, numpy {hardware['numpy']}, python {hardware['python']} | "
        f"mkldnn {hardware['mkldnn']}"
    )
    print(
        f"data: {data_label} | {data['sentences']} sentences, {data['tokens']} tokens, mean length "
        f"{data['mean_len']}, max {data['max_len']}, {data['word_types']} word types, {data['tags']} labels, "
        f"{data['mean_chars_per_token']} chars/token"
    )


def target_note(result: Dict[str, Any], targets: Optional[Targets]) -> str:
    """">= RATE: PASS/FAIL" where a target applies to the row, else ""."""
    if not targets or result["phase"] not in targets:
        return ""
    batch_size, rate = targets[result["phase"]]
    if batch_size not in (None, result["batch_size"]):
        return ""
    return f">= {rate:,.0f}: {'PASS' if result['rate'] >= rate else 'FAIL'}"


def print_rows(results: Sequence[Dict[str, Any]], *, in_process: bool, targets: Optional[Targets] = None) -> None:
    """One row per result: system, phase, batch, sentences, tokens, steps, seconds,
    tokens/s (words/s for inference), median batch rate, memory, other processes' CPU."""
    width = max([12] + [len(r.get("system", "")) for r in results])
    header = (f"{'system':<{width}} {'phase':<8} {'batch':>5} {'sents':>6} {'tokens':>7} {'steps':>5} {'seconds':>8} "
              f"{'tok/s':>8} {'median':>8} {'setupMB':>8} {'peakMB':>7} {'bg cpu':>6}  target")
    print(header)
    print("-" * len(header))
    for r in results:
        bg = "" if r.get("bg_cpu") is None else f"{r['bg_cpu']:.2f}"
        print(
            f"{r.get('system', 'xfer_tagger'):<{width}} {r['phase']:<8} {r['batch_size']:>5} {r['sentences']:>6} "
            f"{r['tokens']:>7} {r['steps']:>5} {r['seconds']:>8.2f} {r['rate']:>8,.0f} {r['median_batch_rate']:>8,.0f} "
            f"{r['setup_rss_mb']:>8.0f} {r['peak_rss_mb']:>7.0f} {bg:>6}  {target_note(r, targets)}"
        )
    print("tok/s = total tokens / total time (words/s for infer and evaluate); median = median of per-batch rates;")
    print("setupMB / peakMB = ru_maxrss after setup / at the end of the phase"
          + (" (one process: cumulative)" if in_process else " (one process per phase)")
          + "; bg cpu = other processes' CPU use during the phase, in cores.")
    if any((r.get("bg_cpu") or 0) > 0.3 for r in results):
        print("WARNING: other processes used CPU during some phases (bg cpu > 0.3): those rates are low.")


def print_profile(result: Dict[str, Any]) -> None:
    """A profiled phase's breakdown (see profiling.py)."""
    print(
        f"\nprofile: {result['phase']} at batch {result['batch_size']}: {result['tokens']} tokens in "
        f"{result['seconds']:.2f}s = {result['rate']:,.0f} tok/s (instrumented; bg cpu {result['bg_cpu']})"
    )
    for row in result["breakdown"]:
        print(f"  {row['part']:<58} {row['seconds']:>8.3f}s {100 * row['share']:>6.1f}%  {row['calls']:>6} calls")
    print("  (own time of each part, exclusive of the parts inside it; torch ops by their own CPU time)")


def ratio_table(results: Sequence[Dict[str, Any]], ours: str, peers: Sequence[str]) -> List[str]:
    """Markdown rows of the README's speed table: per (phase, batch size), each system's
    rate and our rate over each peer's ("-" where a system has no row)."""
    rate = {(r["system"], r["phase"], r["batch_size"]): r["rate"] for r in results}
    work = sorted({(r["phase"], r["batch_size"]) for r in results}, key=lambda key: (key[0] != "infer", key[1]))
    systems = [ours, *peers]
    lines = [
        "| work | " + " | ".join(systems) + " | " + " | ".join(f"ours / {peer}" for peer in peers) + " |",
        "| --- " * (1 + len(systems) + len(peers)) + "|",
    ]
    for phase, batch_size in work:
        unit = "words/s" if phase == "infer" else "tokens/s"
        cells = [f"{rate[(s, phase, batch_size)]:,.0f} {unit}" if (s, phase, batch_size) in rate else "-" for s in systems]
        mine = rate.get((ours, phase, batch_size))
        ratios = [
            f"{mine / rate[(peer, phase, batch_size)]:.2f}" if mine and rate.get((peer, phase, batch_size)) else "-"
            for peer in peers
        ]
        label = f"{'inference' if phase == 'infer' else 'training'}, batch {batch_size}"
        lines.append(f"| {label} | " + " | ".join(cells + ratios) + " |")
    return lines


def scaling_table(results: Sequence[Dict[str, Any]]) -> List[str]:
    """Markdown rows of the README's annotate table (bench/annotate_scaling.py): per
    setting, its seconds and fixed cost, its words/s over the whole run and after the
    fixed cost, each over the first setting's (the single process), and the other
    processes' CPU use ("-" where a number is missing)."""
    first = results[0]

    def ratio(r: Dict[str, Any], key: str) -> str:
        return f"{r[key] / first[key]:.2f}" if r.get(key) and first.get(key) else "-"

    lines = [
        "| setting | seconds | fixed s | words/s | / single | words/s after fixed | / single | bg cpu |",
        "| --- " * 8 + "|",
    ]
    for r in results:
        after = "-" if r.get("rate_after_fixed") is None else f"{r['rate_after_fixed']:,.0f}"
        bg = "-" if r.get("bg_cpu") is None else f"{r['bg_cpu']:.2f}"
        lines.append(
            f"| {r['setting']} | {r['seconds']:.1f} | {r['fixed_seconds']:.1f} | {r['rate']:,.0f} | {ratio(r, 'rate')} "
            f"| {after} | {ratio(r, 'rate_after_fixed')} | {bg} |"
        )
    return lines
