"""Convert an msModelSlim W8A16/W4A16 checkpoint into a float16/bfloat16 safetensors checkpoint.

Writes into a hidden directory beside OUTPUT, renamed to OUTPUT only when complete and removed on any
failure or interrupt; the work itself is ``antiquant.convert`` (one shard per task, here or on a cluster).
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import socket
import time
from pathlib import Path

from .. import convert
from ..core.dtypes import DST_TYPES
from ..extras import install_hint
from .options import add_dtype_argument, unwritable
from .progress import Progress


def _run_here(jobs, directory: Path) -> list:
    with Progress(sum(map(convert.output_bytes, jobs)), "antiquant convert", "MB", scale=1e6) as bar:
        return [convert.convert_shard(job, directory, bar.update) for job in jobs]


# How long a scheduler may take to answer (one on a LAN answers in milliseconds): a wrong or unreachable
# address is refused within it, with the interpreter's start, in under 5 s; it is also the client's timeout.
SCHEDULER_CONNECT_S = 3


def _cluster_runner(address: str):
    """``run_on_cluster``, once ``address`` names a scheduler that answers (checked before any work)."""
    try:
        import distributed  # noqa: F401  (antiquant.dask imports it only when a cluster is used)

        from ..integrations.dask import run_on_cluster
    except ImportError:
        raise ValueError(f"--scheduler needs Dask: {install_hint('dask')}") from None
    from distributed.comm.addressing import parse_address, parse_host_port

    try:
        scheme, location = parse_address(address)
        if scheme != "tcp":     # dask's default transport; the others need settings this command cannot take
            raise ValueError(f"the command line reaches schedulers over tcp only, got {scheme}://")
        host_port = parse_host_port(location)
    except ValueError as err:
        raise ValueError(f"--scheduler {address}: {err}; expected an address such as tcp://host:8786") from None
    try:
        socket.create_connection(host_port, timeout=SCHEDULER_CONNECT_S).close()    # refused or silent: at once
        asyncio.run(_handshake(address))
    except OSError as err:      # refused, unreachable, or silent for SCHEDULER_CONNECT_S (TimeoutError)
        raise ValueError(f"--scheduler {address}: no scheduler answers there ({err.strerror or err or 'no reply'}, "
                         f"waited at most {SCHEDULER_CONNECT_S} s)") from None
    except Exception as err:  # noqa: BLE001 (whatever a peer's bytes make dask's decoder raise)
        raise ValueError(f"--scheduler {address}: what answers there is not a dask scheduler ({type(err).__name__} "
                         f"reading its reply)") from None
    return run_on_cluster


async def _handshake(address: str) -> None:
    """Dask's own handshake with ``address`` within SCHEDULER_CONNECT_S: a port that accepts connections may
    still be no scheduler (a proxy, another server)."""
    from distributed.comm import connect

    comm = await asyncio.wait_for(connect(address, timeout=SCHEDULER_CONNECT_S), SCHEDULER_CONNECT_S)
    await comm.close()


def _run_on_cluster(run_on_cluster, jobs, directory: Path, address: str) -> list:
    with Progress(len(jobs), "antiquant convert", "shards") as bar:
        return run_on_cluster(address, convert.convert_shard, jobs, str(directory), on_done=lambda _: bar.update(1),
                              timeout=SCHEDULER_CONNECT_S)


def add_arguments(parser) -> None:
    parser.add_argument("input", metavar="INPUT", help="msModelSlim checkpoint directory "
                        "(quant_model_weight*.safetensors + quant_model_description*.json)")
    parser.add_argument("output", metavar="OUTPUT", help="new directory for the float checkpoint (must not exist, "
                        "or be empty)")
    add_dtype_argument(parser, "--dst", DST_TYPES, "bf16", "float type of dequantized weights", spelling="short")
    parser.add_argument("--scheduler", metavar="ADDRESS", help="dask.distributed scheduler, tcp://host:port (e.g. "
                        "tcp://host:8786): one task per shard; workers must see INPUT and OUTPUT at the same paths")


def run(args) -> int:
    convert.safe_open()
    cluster = _cluster_runner(args.scheduler) if args.scheduler else None
    start = time.perf_counter()
    src, out = Path(args.input), Path(args.output).absolute()
    if out.exists() and not (out.is_dir() and not any(out.iterdir())):
        raise ValueError(f"OUTPUT {args.output}: already exists; give a new or empty directory")
    reason = unwritable(out.parent)
    if reason:
        raise ValueError(f"OUTPUT {args.output}: parent directory {out.parent} {reason}")
    jobs = convert.plan(src, args.dst)
    partial = out.parent / f".{out.name}.partial-{os.getpid()}-{secrets.token_hex(4)}"
    partial.mkdir()  # beside OUTPUT, so the final rename stays on one filesystem; mode follows the umask
    try:
        if cluster is not None:
            results = _run_on_cluster(cluster, jobs, partial, args.scheduler)
        else:
            results = _run_here(jobs, partial)
        if len(results) > 1:
            convert.write_index(partial, results)
        if out.exists():
            out.rmdir()
        os.rename(partial, out)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    items = [it for job in jobs for it in job.items]
    dequantized = sum(isinstance(it, convert.Dequant) for it in items)
    total = sum(nbytes for *_, nbytes in results)
    where = f" on {args.scheduler}" if args.scheduler else ""
    print(f"antiquant convert: {dequantized} weights dequantized to {args.dst}, {len(items) - dequantized} tensors "
          f"copied, {len(results)} shard(s), {total / 1e6:.1f} MB in {time.perf_counter() - start:.1f} s{where}")
    for filename, names, nbytes in results:
        print(f"  {Path(args.output) / filename}: {len(names)} tensors, {nbytes / 1e6:.1f} MB")
    if len(results) > 1:
        print(f"  {Path(args.output) / 'model.safetensors.index.json'}")
    return 0
