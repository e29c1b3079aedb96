"""Running deployed functions (Lambda's Python runtime): code unpacked under the data dir (`code.py`), each
function run in worker processes of its own (`worker.py`, the child's side; `pool.py`, the server's side), so that
one function can neither crash nor block the server, and a timeout kills the worker."""

from .code import CodeError, pack_directory, unpack
from .pool import FunctionSpec, InvocationResult, WorkerPool

__all__ = ["CodeError", "FunctionSpec", "InvocationResult", "WorkerPool", "pack_directory", "unpack"]
