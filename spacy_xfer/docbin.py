"""Reading DocBins at the speed of their bytes.

`DocBin.get_docs` unpacks three msgpack blobs per doc, and srsly's `unpackb` looks its
decoders up in the `srsly.msgpack_decoders` entry points at every call (catalogue
scans the installed distributions each time): with a spaCy environment that is 1-2 ms
per call, some 60 s for CoNLL 2003's 14,041 training sentences, against well under a
second for the decoding itself. `iter_docs` and `read_docs` resolve the decoders once per file.
"""

import threading
from contextlib import contextmanager
from itertools import count
from pathlib import Path
from typing import Iterator, List, Union

import srsly.msgpack
from spacy.tokens import Doc, DocBin
from spacy.vocab import Vocab

from .errors import Errors


_LOCK = threading.Lock()
_depth = 0  # blocks open, over all threads; the patch is removed when the last one ends


@contextmanager
def msgpack_decoders_resolved_once() -> Iterator[None]:
    """Within the block, srsly's msgpack decoders are the ones registered on entry to
    the first open block; once no block is open, srsly looks them up as usual. The
    registry is process-wide, so threads reading at once (the experiments' chains)
    share one patch: the first block in sets it, the last one out removes it."""
    global _depth
    registry = srsly.msgpack.msgpack_decoders
    with _LOCK:
        if _depth == 0:
            decoders = registry.get_all()
            registry.get_all = lambda: decoders  # type: ignore[method-assign]
        _depth += 1
    try:
        yield
    finally:
        with _LOCK:
            _depth -= 1
            if _depth == 0:
                del registry.get_all


def load_docbin(path: Union[str, Path]) -> DocBin:
    """`DocBin().from_disk(path)`, with an error that names the file.

    RAISES (ValueError): E108 for a file that is no DocBin (e.g. truncated, or msgpack
        data of another shape); spaCy's own E1014 names no file.
    RAISES (OSError): as `DocBin.from_disk`, for a missing file (it names the path).
    """
    try:
        return DocBin().from_disk(path)
    except (ValueError, KeyError, TypeError) as e:  # not msgpack; msgpack of another shape
        raise ValueError(Errors.E108.format(path=path, problem=f"{type(e).__name__}: {e}")) from e


def iter_docs(path: Union[str, Path], vocab: Vocab) -> Iterator[Doc]:
    """The docs of a `.spacy` file one at a time, as
    `DocBin().from_disk(path).get_docs(vocab)`, with the decoders resolved once.

    path (Union[str, Path]): a DocBin file.
    vocab (Vocab): the vocab to read the docs into.
    YIELDS (Doc): the docs, in file order.
    RAISES (ValueError or OSError): as `load_docbin`, for a missing or invalid file;
        E108 naming the doc for one whose parts cannot be read.
    """
    docs = load_docbin(path).get_docs(vocab)
    with msgpack_decoders_resolved_once():
        for number in count():
            try:
                doc = next(docs)
            except StopIteration:
                return
            except (ValueError, KeyError, TypeError) as e:  # a doc's parts of another shape
                raise ValueError(Errors.E108.format(path=path, problem=f"doc {number}: {type(e).__name__}: {e}")) from e
            yield doc


def read_docs(path: Union[str, Path], vocab: Vocab) -> List[Doc]:
    """All docs of a `.spacy` file (`iter_docs`), in file order.

    RAISES (ValueError or OSError): as `iter_docs`.
    """
    return list(iter_docs(path, vocab))
