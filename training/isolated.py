"""`run_isolated`: a heavy stage of a long job in a fresh (spawned) process.

Measured on 2 cores: SFT ran ~2x slower inside the recipe's long-lived process (6.3 GB resident after annealing,
evaluation and synthesis, a third of its time in the kernel) than the same steps in a fresh process (14 s against
20-30 s a step). A spawned process starts from clean memory and thread pools, and gives it all back when it ends.
The function's result comes back through a pipe; an error of the project's own types comes back as that error, so
the CLI reports it the same way as in one process.
"""

from __future__ import annotations

import multiprocessing
import traceback

from training.sft.errors import SFTError


def _child(connection, function, args, kwargs) -> None:
    try:
        connection.send(("ok", function(*args, **kwargs)))
    except BaseException as error:  # noqa: BLE001 (everything goes back to the parent, which decides)
        try:
            connection.send(("error", error, traceback.format_exc()))
        except Exception:  # noqa: BLE001 (an exception that does not pickle goes back as its message)
            connection.send(("error", SFTError(f"{type(error).__name__}: {error}"), traceback.format_exc()))
    finally:
        connection.close()


def run_isolated(function, *args, **kwargs):
    """`function(*args, **kwargs)` in a spawned process; its result, or its exception raised here.

    `function` and its arguments must pickle (module-level functions, paths, dataclasses): no lambdas as `echo`."""
    context = multiprocessing.get_context("spawn")
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(target=_child, args=(sender, function, args, kwargs), daemon=False)
    process.start()
    sender.close()
    try:
        outcome = receiver.recv()
    except EOFError:  # died without a word: killed (out of memory) or crashed in native code
        outcome = None
    process.join()
    if outcome is None:
        raise SFTError(f"{function.__qualname__} died in its process (exit code {process.exitcode})")
    if outcome[0] == "ok":
        return outcome[1]
    _, error, child_traceback = outcome
    if not (_ours(error) or isinstance(error, KeyboardInterrupt)):
        print(child_traceback, flush=True)  # a bug: where it happened, in the child
    raise error


def _ours(error: BaseException) -> bool:
    """An error of the SDK's or the training code's own types: a message for the user, no traceback."""
    module = type(error).__module__
    return module.startswith(("infir_edge.", "training."))
