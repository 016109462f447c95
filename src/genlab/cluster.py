"""Ray, the engine of genlab's embarrassingly parallel work (data preparation, batch generation,
evaluation sampling): one place that starts a local Ray instance or joins a cluster.
"""

from __future__ import annotations

from pathlib import Path

from genlab.errors import GenlabError, InvalidArgument

ENGINES = ("local", "ray")


def check_engine(engine: str, ray_address: str | None = None) -> None:
    """`engine` is local or ray; `ray_address` only with ray."""
    if engine not in ENGINES:
        raise InvalidArgument("--engine", "local or ray", engine)
    if ray_address is not None and engine != "ray":
        raise InvalidArgument("--ray-address", "no value unless --engine ray", ray_address)


# The help of the Ray options every command with `--engine ray` takes, written once.
RAY_ADDRESS_HELP = (
    "--engine ray: join this Ray cluster (HOST:PORT of `ray start --head`, ray://HOST:10001 or "
    "auto) instead of starting a local Ray"
)
RAY_WORKERS_HELP = "--engine ray: model replicas (default: one per Ray CPU)"


def ray_init(address: str | None = None, num_cpus: int | None = None):
    """The `ray` module, connected: to the cluster at `address` ("auto", HOST:PORT of a head
    started with `ray start --head`, or ray://HOST:10001), else to a new local instance with
    `num_cpus` CPUs (default: every CPU). A Ray this process already joined is reused.

    Joining a cluster ships this genlab's code to its workers (runtime_env py_modules), so the
    nodes run the driver's version; they need genlab's dependencies (`pip install genlab[ray]`).
    Ray Data keeps every map's output in input order here: the results equal the local engine's.
    """
    try:
        import ray  # optional: the ray extra
        import ray.data  # optional: the ray extra
    except ImportError:
        raise GenlabError(
            "the ray engine needs Ray Data: pip install 'genlab[ray]' (or 'ray[data]')"
        ) from None
    if num_cpus is not None and num_cpus < 1:
        raise InvalidArgument("workers", "an integer ≥ 1", num_cpus)
    if not ray.is_initialized():
        quiet = {"include_dashboard": False, "log_to_driver": False, "configure_logging": False}
        if address:
            code = str(Path(__file__).parent)  # this genlab package
            try:
                ray.init(address=address, runtime_env={"py_modules": [code]}, **quiet)
            except (ConnectionError, RuntimeError, ValueError) as e:
                raise GenlabError(f"--ray-address {address}: cannot join the cluster ({e})") from e
        else:
            # the local workers inherit this environment (PYTHONPATH included): the same genlab
            ray.init(num_cpus=num_cpus, **quiet)
    context = ray.data.DataContext.get_current()
    context.execution_options.preserve_order = True
    context.enable_progress_bars = False
    return ray


def ray_cpus() -> int:
    """CPUs of the Ray cluster this process joined (at least 1)."""
    import ray  # optional: the ray extra

    return max(1, int(ray.cluster_resources().get("CPU", 1)))
