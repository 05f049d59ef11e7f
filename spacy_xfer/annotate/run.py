"""`annotate`'s driver: the input is cut into shards of `shard_size` docs (in input
order), each shard is annotated in `batch_size` batches and written atomically as its
own file, in this process, in `n_process` local processes or on a Dask cluster; then,
for a one-file OUTPUT, the shard files are merged in order.

- OUTPUT with a suffix (`out.jsonl`) is one file: shards go to `OUTPUT.parts/`, merged
  into OUTPUT at the end (replacing a file of an earlier run), after which the folder is
  removed. OUTPUT without a suffix (`out/`) is a folder of shard files `000000.jsonl`,
  `000001.jsonl`, ... A folder OUTPUT is complete when its `annotate.json` says
  `"complete": true`, written last, after every shard is in place (false from when a
  run starts on a shard it has to write, and after such a run failed or was
  interrupted).
- Nothing the command did not write is deleted or overwritten: a shard folder that holds
  files but no `annotate.json` is refused (E104), and only this command's shard and
  digest files (`000001.jsonl`, `000001.jsonl.sha256`) are ever removed. OUTPUT may not
  be the input or lie in the input folder.
- Resume: a shard is finished when its file and the digest of the input it was made
  from (`000001.jsonl.sha256` beside `000001.jsonl`, written after it; both atomically)
  are there and the digest is that of the shard's input now; finished shards are
  skipped. So after an interruption, or after fixing the input line a run failed on,
  running again redoes only the shards whose input is new or changed, and shard files
  past the end of a shortened input are removed. The shard folder's `annotate.json`
  records the other settings that decide the output (model path and content digest,
  formats, shard size, n-best, confidence), and a run with other settings stops rather
  than mixing outputs (a folder without shard files yet takes the new settings).
- Memory: the reader is streamed; at most a few shards per worker are in flight, so
  memory is bounded by the shard size, not the corpus.
- Determinism: a shard is annotated the same way wherever it runs, so the labels do not
  depend on `n_process` or on Dask (scores agree to float rounding).
- Workers (local processes or Dask workers) load the pipeline once each; on Dask, MODEL
  must be a path every worker can read (or an installed pipeline package), and the
  shard results come back to this process, which writes them.
"""

import hashlib
import json
import os
import re
import threading
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor
from concurrent.futures import wait as wait_futures
from functools import lru_cache
from itertools import islice
from multiprocessing import get_context
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, Iterator, List, NamedTuple, Optional, Tuple

from spacy.language import Language
from spacy.tokens import DocBin
from spacy.util import minibatch
from tqdm import tqdm

from ..corpora.io import ATOMIC_TEMP_NAME, check_output, write_atomic
from ..errors import Errors
from ..pipeline.serialization import files_under, load_trained, model_folder
from .inputs import Item, check_input_format, check_output_apart, input_files, read_items
from .outputs import OUTPUT_SUFFIXES, NBestOf, merge_files, render_text, xfer_heads

MANIFEST = "annotate.json"
DIGEST_SUFFIX = ".sha256"
MAX_N_BEST = 1000
Shard = Tuple[int, List[Item]]


class AnnotateOptions(NamedTuple):
    """How each shard is annotated (the same in every worker)."""

    model: str
    output_format: str
    batch_size: int = 64
    n_best: int = 0
    confidence: bool = False
    model_sha256: str = ""  # `model_digest`: part of the key a process keeps the pipeline under


class AnnotateSummary(NamedTuple):
    n_shards: int  # shards of the input
    n_skipped: int  # already finished (resume)
    n_docs: int  # docs annotated by this run


@lru_cache(maxsize=2)
def load_pipeline(model: str, confidence: bool, model_sha256: str = "") -> Language:
    """The pipeline, loaded once per process, its heads' confidence set; `model_sha256`
    (its `model_digest`) is only part of the cache key, so a model replaced at the same
    path is loaded anew by a process that outlives a run (a Dask worker)."""
    nlp = load_trained(model)
    for head in xfer_heads(nlp):
        head.confidence = confidence
    return nlp


def annotate_shard(options: AnnotateOptions, items: List[Item]) -> bytes:
    """Annotate one shard's items and return the shard file's bytes.

    RAISES (ValueError): naming the item's file and line when its doc cannot be built.
    """
    nlp = load_pipeline(options.model, options.confidence, options.model_sha256)
    heads = xfer_heads(nlp)
    doc_bin = DocBin(store_user_data=True) if options.output_format == "docbin" else None
    parts: List[bytes] = []
    for batch in minibatch(items, options.batch_size):
        docs = list(nlp.pipe([item.make_doc(nlp) for item in batch], batch_size=options.batch_size))
        nbest: Optional[NBestOf] = None
        if options.n_best:
            nbest = {head.name: head.nbest(docs, options.n_best) for head in heads}
        if doc_bin is not None:
            for doc in docs:
                doc_bin.add(doc)
        else:
            parts.append(render_text(docs, heads, options.output_format, nbest, [item.fields for item in batch]))
    return doc_bin.to_bytes() if doc_bin is not None else b"".join(parts)



def annotate(
    model: str,
    input_path: Path,
    output: Path,
    input_format: str,
    output_format: str,
    *,
    n_process: int = 1,
    batch_size: int = 64,
    shard_size: int = 1000,
    n_best: int = 0,
    confidence: bool = False,
    dask: Optional[str] = None,
    progress: bool = True,
) -> AnnotateSummary:
    """Annotate INPUT into OUTPUT (module docstring).

    model (str): a pipeline path or package name with at least one xfer_tagger.
    n_best (int): also write each head's n best label sequences (JSONL), 0 for none.
    dask (Optional[str]): a Dask scheduler address (`tcp://host:8786`) to run the
        shards on instead of local processes.
    RETURNS (AnnotateSummary): shard and doc counts.
    RAISES (ValueError, OSError): for bad settings or input (naming file and line),
        for OUTPUT in the input folder, for a shard folder written with other settings
        (E050) and for one holding files but no manifest of an earlier run (E104).
    """
    check_input_format(input_format)  # before any output is written (read_items checks it lazily)
    if output_format not in OUTPUT_SUFFIXES:
        raise ValueError(Errors.E039.format(kind="output format", value=output_format, choices=", ".join(OUTPUT_SUFFIXES)))
    for name, value in (("n-process", n_process), ("batch-size", batch_size), ("shard-size", shard_size)):
        if value < 1:
            raise ValueError(Errors.E038.format(setting=f"--{name}", value=value, expected="at least 1"))
    if not 0 <= n_best <= MAX_N_BEST:
        expected = (
            f"0 (none) to {MAX_N_BEST}: the k-best search keeps k partial sequences per label at every "
            "token of a batch, so its memory grows with k"
        )
        raise ValueError(Errors.E038.format(setting="--n-best", value=n_best, expected=expected))
    if n_best and output_format != "jsonl":
        expected = f"0 with output format {output_format!r}: n-best lists are written to JSONL only"
        raise ValueError(Errors.E038.format(setting="--n-best", value=n_best, expected=expected))
    files = input_files(input_path)
    options = AnnotateOptions(str(model), output_format, batch_size, n_best, confidence, model_digest(str(model)))
    load_pipeline(options.model, confidence, options.model_sha256)  # fail early, here, on a bad model
    one_file = bool(output.suffix)
    shard_dir = output.with_name(output.name + ".parts") if one_file else output
    check_output(output, folder=not one_file)
    if one_file:
        check_output(shard_dir, folder=True)
    check_output_apart([output, shard_dir], input_path, files, str(model))
    suffix = OUTPUT_SUFFIXES[output_format]
    if one_file and output.suffix != suffix and output.suffix in OUTPUT_SUFFIXES.values():
        expected = f"a file name ending {suffix} (or in no other format's suffix) for output format {output_format!r}"
        raise ValueError(Errors.E038.format(setting="OUTPUT", value=str(output), expected=expected))
    manifest = _check_manifest(shard_dir, files, input_format, options, shard_size)
    shard_path = lambda index: shard_dir / f"{index:06d}{suffix}"  # noqa: E731
    digest_path = lambda index: shard_dir / f"{index:06d}{suffix}{DIGEST_SUFFIX}"  # noqa: E731
    write_manifest = lambda complete: write_atomic(  # noqa: E731
        shard_dir / MANIFEST, json.dumps(manifest | {"complete": complete}, indent=2).encode("utf8")
    )
    begun = False  # whether this run has marked the folder incomplete (before its first change)
    counts = {"shards": 0, "skipped": 0, "docs": 0}
    digests: Dict[int, str] = {}  # of the shards in flight
    bar = tqdm(unit="doc", desc="annotate", disable=None if progress else True)  # None: on a terminal only

    def todo() -> Iterator[Shard]:
        for index, items in _shards(read_items(files, input_format), shard_size):
            counts["shards"] += 1
            digest = shard_digest(items, output_format)
            done = digest_path(index)
            if shard_path(index).exists() and done.exists() and done.read_text(encoding="utf8") == digest:
                counts["skipped"] += 1
                bar.update(len(items))
                continue
            begin()  # before the first shard this run works on: it may not finish
            digests[index] = digest
            yield index, items

    def begin() -> None:
        nonlocal begun
        if not begun:
            write_manifest(False)
            begun = True

    def finished(index: int, n_docs: int, data: bytes) -> None:
        write_atomic(shard_path(index), data)
        write_atomic(digest_path(index), digests.pop(index).encode("utf8"))
        counts["docs"] += n_docs
        bar.update(n_docs)

    try:
        if dask is not None:
            _run_dask(dask, options, todo(), finished)
        elif n_process > 1:
            _run_processes(n_process, options, todo(), finished)
        else:
            for index, items in todo():
                finished(index, len(items), annotate_shard(options, items))
    finally:
        bar.close()
    past_end = [path for index, path in _shard_files(shard_dir, (suffix,)) if index >= counts["shards"]]
    if past_end:  # shards past the end of the input, as it is now
        begin()
    for path in past_end:
        path.unlink()
    write_manifest(True)
    if one_file:
        merge_files([shard_path(i) for i in range(counts["shards"])], output, output_format)
        for _, path in _shard_files(shard_dir, (suffix,)):
            path.unlink()
        if [path.name for path in shard_dir.iterdir()] == [MANIFEST]:  # else keep what it does not own
            (shard_dir / MANIFEST).unlink()
            shard_dir.rmdir()
    return AnnotateSummary(counts["shards"], counts["skipped"], counts["docs"])


def shard_digest(items: List[Item], output_format: str) -> str:
    """The SHA-256 of what decides a shard's output: its items' texts or tokens and
    spaces, and for a `jsonl` output the input fields it keeps, in order (not their
    file and line, which the output does not show)."""
    keeps_fields = output_format == "jsonl"
    content = [(item.text, item.words, item.spaces, *([item.fields] if keeps_fields and item.fields else [])) for item in items]
    return hashlib.sha256(json.dumps(content, ensure_ascii=False).encode("utf8")).hexdigest()


def _shards(items: Iterable[Item], size: int) -> Iterator[Shard]:
    iterator = iter(items)
    index = 0
    while shard := list(islice(iterator, size)):
        yield index, shard
        index += 1


def model_digest(model: str) -> str:
    """The SHA-256 of a pipeline's files (a path, or an installed package's folder):
    their paths relative to it and their bytes, so a model retrained or replaced at the
    same path has another digest; "" for neither (which loading then refuses)."""
    root = model_folder(model)
    if root is None:
        return ""
    digest = hashlib.sha256()
    files = sorted(files_under(root), key=lambda path: path.relative_to(root).as_posix())
    for path in files:
        digest.update(f"{path.relative_to(root).as_posix()}\0{path.stat().st_size}\0".encode("utf8"))
        with path.open("rb") as file:
            while chunk := file.read(1 << 20):
                digest.update(chunk)
    return digest.hexdigest()


def _shard_files(shard_dir: Path, suffixes: Iterable[str] = tuple(OUTPUT_SUFFIXES.values())) -> List[Tuple[int, Path]]:
    """The shard files (`000001.jsonl`) and their digests (`000001.jsonl.sha256`) in
    `shard_dir` with one of `suffixes`, named as this command names them, with their
    index: the only files it removes."""
    if not shard_dir.is_dir():
        return []
    pattern = re.compile(rf"(\d{{6,}})(?:{'|'.join(map(re.escape, suffixes))})(?:{re.escape(DIGEST_SUFFIX)})?")
    found = []
    for path in shard_dir.iterdir():
        match = pattern.fullmatch(path.name)
        if match and match[1] == f"{int(match[1]):06d}" and path.is_file():
            found.append((int(match[1]), path))
    return found


def _check_manifest(
    shard_dir: Path, files: List[Path], input_format: str, options: AnnotateOptions, shard_size: int
) -> Dict[str, Any]:
    """The settings that decide the shards' content, to record in the shard folder's
    manifest; stop if the folder holds shards written with others, or files of its
    own without a manifest of an earlier run.

    RAISES (ValueError): E050 naming the first setting that differs; E104 for a folder
        that is not empty and not an earlier run's.
    """
    manifest = {
        "model": str(Path(options.model).resolve()) if Path(options.model).exists() else options.model,
        "model_sha256": options.model_sha256,
        "input": [str(f.resolve()) for f in files],
        "input_format": input_format,
        "output_format": options.output_format,
        "shard_size": shard_size,
        "n_best": options.n_best,
        "confidence": options.confidence,
    }
    path = shard_dir / MANIFEST
    if not path.is_file():
        if shard_dir.is_dir() and any(not ATOMIC_TEMP_NAME.fullmatch(path.name) for path in shard_dir.iterdir()):
            raise ValueError(Errors.E104.format(folder=shard_dir, problem=f"holds files but no {MANIFEST}", manifest=MANIFEST))
        return manifest
    try:
        old = json.loads(path.read_text(encoding="utf8"))
    except ValueError:  # not JSON, or not UTF-8
        old = None
    if not isinstance(old, dict) or "input_format" not in old:
        problem = f"has a {MANIFEST} that annotate did not write"
        raise ValueError(Errors.E104.format(folder=shard_dir, problem=problem, manifest=MANIFEST))
    if _shard_files(shard_dir):  # of any output format
        changed = [key for key in manifest if old.get(key) != manifest[key]]
        if changed:
            key = changed[0]
            raise ValueError(Errors.E050.format(folder=shard_dir, key=key, old=old.get(key), new=manifest[key]))
    return manifest


def _run_bounded(
    submit: Callable[[List[Item]], Any],
    wait_any: Callable[[List[Any]], Iterable[Any]],
    shards: Iterator[Shard],
    limit: int,
    finished: Callable[[int, int, bytes], None],
) -> None:
    """Submit shards with at most `limit` in flight (so the reader stays ahead by a
    bounded amount), writing each result as it comes."""
    pending: Dict[Any, Tuple[int, int]] = {}

    def collect() -> None:
        for future in wait_any(list(pending)):
            index, n_docs = pending.pop(future)
            finished(index, n_docs, future.result())

    for index, items in shards:
        while len(pending) >= limit:
            collect()
        pending[submit(items)] = (index, len(items))
    while pending:
        collect()


def _start_worker(options: AnnotateOptions, parent: int) -> None:
    """A pool worker's initializer: end with the parent (its pid given by the parent: a
    parent killed before this runs would leave `os.getppid()` naming the new one), load
    the pipeline."""
    _exit_with_parent(parent)
    load_pipeline(options.model, options.confidence, options.model_sha256)


def _exit_with_parent(parent: int, interval: float = 0.5) -> None:
    """End this process once its parent `parent` is gone (its parent id changes), from a
    daemon thread. A parent killed by SIGKILL cannot shut its pool down, and a spawned
    worker holds its own end of the task queue, so it would wait for work forever."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(interval)
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def _run_processes(n_process: int, options: AnnotateOptions, shards: Iterator[Shard], finished) -> None:
    context = get_context("spawn")  # a fresh interpreter: no forked torch threads
    with ProcessPoolExecutor(
        n_process, mp_context=context, initializer=_start_worker, initargs=(options, os.getpid())
    ) as pool:
        _run_bounded(
            lambda items: pool.submit(annotate_shard, options, items),
            lambda futures: wait_futures(futures, return_when=FIRST_COMPLETED).done,
            shards,
            2 * n_process,
            finished,
        )


def _run_dask(address: str, options: AnnotateOptions, shards: Iterator[Shard], finished) -> None:
    try:
        from distributed import Client
        from distributed import wait as wait_dask
    except ImportError as e:
        raise ValueError(Errors.E051.format(feature="--dask", extra="dask")) from e
    with Client(address) as client:
        n_threads = sum(client.nthreads().values())
        _run_bounded(
            lambda items: client.submit(annotate_shard, options, items, pure=False),
            lambda futures: wait_dask(futures, return_when="FIRST_COMPLETED").done,
            shards,
            max(2, 2 * n_threads),
            finished,
        )
