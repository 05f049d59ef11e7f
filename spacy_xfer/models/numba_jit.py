"""numba, the optional compiler of the fused paths (`fused_gru` and `fused_viterbi` to
predict, `fused_crf_loss` and `fused_gru_train` to train): whether it can be used, and
how a function is compiled.

numba is the `fast` extra; without it (or with numba's NUMBA_DISABLE_JIT=1, its
debugging switch, which would run the compiled loops as Python, ~100x slower) the
callers take their torch or numpy paths.
"""

import warnings
from typing import Any, Callable, Iterable

from ..errors import Warnings

try:
    import numba
except ImportError:  # pragma: no cover - CI installs every extra
    numba = None

AVAILABLE = numba is not None and not numba.config.DISABLE_JIT


def compiled(function: Callable, fastmath: Iterable[str] = (), error_model: str = "python") -> Callable:
    """`function` compiled by numba (`nopython` mode, releasing the GIL), cached on disk
    where numba finds a writable folder: NUMBA_CACHE_DIR if set, else beside the
    function's file, else the user's cache folder. Where none is writable numba
    refuses `cache=True`, and each process compiles the function anew at its first call.
    numba keys its cache on the function's file and its time of change, not on these
    options: after changing the options here, delete the caches (the `__pycache__`
    folders beside the fused modules, or NUMBA_CACHE_DIR's), or old machine code loads.

    fastmath (Iterable[str]): LLVM fast-math flags, e.g. {"reassoc", "contract"}; none by
        default, so float arithmetic is IEEE's, in the order the code gives.
    error_model (str): numba's: "python" (the default) raises ZeroDivisionError on a
        division by zero, a test in every division that keeps a loop with one out of
        vector lanes; "numpy" gives inf or nan, as numpy does, for loops whose divisors
        cannot be zero.
    RETURNS (Callable): the compiled function (numba's dispatcher).
    """
    options = dict(nogil=True, fastmath=set(fastmath) or False, error_model=error_model)
    try:
        dispatcher = numba.njit(cache=True, **options)(function)
    except RuntimeError:  # "cannot cache function ...: no locator available"
        return numba.njit(**options)(function)
    cache = getattr(dispatcher, "_cache", None)  # none under NUMBA_DISABLE_JIT (a plain function)
    if cache is not None:
        _recompile_on_unreadable_cache(cache, function.__qualname__)
    return dispatcher


def _recompile_on_unreadable_cache(cache: Any, name: str) -> None:
    """Make numba's disk cache of one function treat a file it cannot read as a miss.
    numba raises at the first call when the function's index or data file is truncated
    or garbled (a full disk, a copy cut short), and so would every later process that
    reads it. Instead: warn (W003, naming the folder) and compile anew. numba then saves
    the new code, which replaces a bad data file; where the index itself cannot be read
    (saving reads it first), the function's index is emptied (numba's `Cache.flush`) and
    the save tried again; where even that fails (a folder whose files cannot be
    replaced), the function runs uncached in this process (numba's `Cache.disable`)."""
    load, save = cache.load_overload, cache.save_overload

    def load_overload(signature: Any, target_context: Any) -> Any:
        try:
            return load(signature, target_context)
        except MemoryError:
            raise
        except Exception as error:  # pickle's errors, EOFError, ...: whatever reading raised
            warnings.warn(Warnings.W003.format(name=name, path=cache.cache_path, error=repr(error)))
            return None  # a miss: numba compiles and saves

    def save_overload(signature: Any, data: Any) -> None:
        try:
            save(signature, data)
        except MemoryError:
            raise
        except Exception:  # the index could not be read
            try:
                cache.flush()
                save(signature, data)
            except OSError:
                cache.disable()

    cache.load_overload = load_overload
    cache.save_overload = save_overload
