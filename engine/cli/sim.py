"""`repricer sim serve`: the SP-API fake of Amazon over real HTTP, for `repricer run --config` to run against.

    repricer sim serve [--port 8765] [--host 127.0.0.1] [--scenario S1b] [--skus N] [--marketplaces DE,FR,IT]
                       [--time-scale X] [--seed N] [--faults JSON] [--catalog FILE [--account ID]]

One seller account's offers in a simulated market per marketplace (`sim.fake.scenario_fake`), served by hypercorn's
trio worker (`sim.fake.serve`), with the Notifications API and the SQS queue the markets' notifications reach; the
defaults are what `examples/sim.toml` points at. The simulator's clock is the
real one scaled by ``--time-scale``: a simulated second lasts 1/X real seconds, so Amazon's latencies and quotas
pass X times faster. One line on stdout says where it listens and what it serves; SIGINT or SIGTERM stops it
(in-flight requests finish first), exit code 0. ``--catalog`` writes the served offers as a catalog file for
`repricer catalog import`, under the account id ``--account`` (examples/sim.toml's ``sim-eu``).

Imports the simulator and hypercorn inside the command, so `repricer --help` stays fast.
"""

from __future__ import annotations

import argparse
import signal
import sys
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import trio
import trio.testing

from engine.cli.args import (
    HelpFormatter,
    check_scenario,
    marketplace_codes,
    non_negative_int,
    output_file,
    positive_float,
    positive_int,
    refuse,
    seller_id,
)

if TYPE_CHECKING:
    from sim.fake import Faults, SpApiFake

__all__ = ["add_parser"]

_PROG = "repricer sim serve"


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    sim = sub.add_parser(
        "sim",
        help="the simulated Amazon: serve its SP-API fake over HTTP",
        description="The simulated Amazon, as a service the daemon reaches over HTTP.",
        formatter_class=HelpFormatter,
    )
    actions = sim.add_subparsers(required=True, metavar="action")
    serve = actions.add_parser(
        "serve",
        help="serve the SP-API fake (Login with Amazon, pricing, listings, feeds) until SIGINT or SIGTERM",
        description="Serve an HTTP fake of Amazon's Selling Partner API and Login with Amazon over simulated "
        "markets: one seller's SKUs in each marketplace, Amazon's shapes, quotas and refusals. examples/sim.toml "
        "points at its defaults.",
        formatter_class=HelpFormatter,
    )
    serve.add_argument("--port", type=non_negative_int, default=8765, help="TCP port (0: any free one)")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on")
    serve.add_argument("--scenario", default="S1b", help="simulated competition, S1a..S8")
    serve.add_argument("--skus", type=positive_int, default=100, help="SKUs per marketplace")
    serve.add_argument(
        "--marketplaces", type=marketplace_codes, default="DE,FR,IT", help="country codes, comma-separated"
    )
    serve.add_argument("--time-scale", type=positive_float, default=1.0, help="simulated seconds per real second")
    serve.add_argument("--seed", type=non_negative_int, default=1, help="seed of the simulated markets and faults")
    serve.add_argument(
        "--faults",
        metavar="JSON",
        help='faults to inject from the start, as POST /_sim/faults takes them: {"throttle": {"share": 0.5, '
        '"duration_s": 600}} (kinds: throttle, server_error, expire_token, malformed_json, never_apply, slow; '
        "default: none)",
    )
    serve.add_argument(
        "--catalog",
        type=output_file,
        metavar="FILE",
        help="also write the served offers as a catalog CSV for `repricer catalog import`",
    )
    serve.add_argument(
        "--account", type=seller_id, default="sim-eu", help="the seller account id the --catalog rows belong to"
    )
    serve.set_defaults(handler=_cmd_serve)


def _cmd_serve(args: argparse.Namespace) -> int:
    if (problem := check_scenario(args.scenario)) is not None:
        return refuse(_PROG, problem)
    faults = None
    if args.faults is not None:
        import msgspec

        from sim.fake import Faults

        try:
            faults = msgspec.json.decode(args.faults.encode(), type=Faults)
        except (msgspec.ValidationError, msgspec.DecodeError) as exc:
            return refuse(_PROG, f"--faults: {exc}")
    # The real clock, or one running --time-scale times faster: nothing jumps, so sockets and timeouts behave.
    clock = None if args.time_scale == 1.0 else trio.testing.MockClock(rate=args.time_scale)
    failed: OSError | None = None
    try:
        return trio.run(_serve, args, faults, clock=clock)
    except* OSError as group:  # the port is taken, the address is not this machine's
        failed = _first(group)
    return refuse(_PROG, f"cannot listen on {args.host}:{args.port}: {failed.strerror or failed}")


async def _serve(args: argparse.Namespace, faults: Faults | None) -> int:
    from sim.fake import scenario_fake, serve

    # Amazon's timestamps: trio time 0 is now on the wall, in the simulator's seconds.
    origin = datetime.now(UTC) - timedelta(seconds=trio.current_time())
    fake = scenario_fake(
        scenario=args.scenario,
        seed=args.seed,
        skus=args.skus,
        marketplaces=args.marketplaces,
        faults=faults,
        time_scale=args.time_scale,
        wall_origin=origin,
    )
    if args.catalog is not None:
        _write_catalog(fake, args.catalog, args.account)
    shutdown = trio.Event()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(_stop_on_signal, shutdown)
        url = await nursery.start(
            partial(serve, fake, host=args.host, port=args.port, time_scale=args.time_scale, shutdown=shutdown)
        )
        print(_said(fake, url, args), flush=True)
    return 0


def _said(fake: SpApiFake, url: str, args: argparse.Namespace) -> str:
    from sim import ids
    from sim.fake import SIM_AWS_ACCESS_KEY_ID, SIM_AWS_ACCOUNT, SIM_QUEUE, SIM_REFRESH_TOKEN

    first = fake.apis[0].market.spec.sku
    skus = f"{first[0]}..{first[-1]}" if len(first) > 1 else first[0]
    scale = "" if args.time_scale == 1.0 else f", {args.time_scale:g}x real time"
    return (
        f"repricer sim serve: SP-API and Login with Amazon on {url} (token {url}/auth/o2/token); seller "
        f"{ids.our_seller_id(0)}, refresh token {SIM_REFRESH_TOKEN}, any client id and secret; {args.skus} SKUs "
        f"{skus} in each of {','.join(args.marketplaces)}; scenario {args.scenario}, seed {args.seed}{scale}; "
        f"notifications to the SQS queue {url}/{SIM_AWS_ACCOUNT}/{SIM_QUEUE} (AWS key {SIM_AWS_ACCESS_KEY_ID})"
    )


def _write_catalog(fake: SpApiFake, path: Path, account: str) -> None:
    from adapters.catalog.files import write_catalog
    from adapters.simulated.marketplace import catalog_settings
    from engine.catalog import from_settings

    rows = [from_settings(offer) for api in fake.apis for offer in catalog_settings(api.market, seller=account)]
    path.write_bytes(write_catalog(rows, format="csv"))


async def _stop_on_signal(shutdown: trio.Event) -> None:
    with trio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
        async for _ in signals:
            print("repricer sim serve: stopping", file=sys.stderr, flush=True)
            shutdown.set()
            return


def _first(group: BaseExceptionGroup[OSError]) -> OSError:
    """The first error of a group (trio's nurseries nest them)."""
    inner = group.exceptions[0]
    return _first(inner) if isinstance(inner, BaseExceptionGroup) else inner
