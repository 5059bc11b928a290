"""The fake over real HTTP: served by hypercorn's trio worker on a loopback port, reached by the real adapter over a
real socket, stopped cleanly. Real sockets, so the real clock (trio#456), each test bounded by `trio.fail_after`."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from functools import partial
from pathlib import Path

import httpx
import pytest
import trio

from adapters.simulated.marketplace import catalog_settings
from adapters.spapi import AccessTokens, SpApiClient
from adapters.spapi.marketplace import SpApiMarketplace
from engine.cli import main
from engine.config import Credentials, CredentialSources, Endpoints, Secret, SellerAccount
from engine.model import ListingState
from sim.fake import LWA_TOKEN_PATH, SIM_REFRESH_TOKEN, STATS_PATH, scenario_fake, serve

ROOT = Path(__file__).resolve().parents[2]


async def test_the_adapter_reads_back_a_listing_over_a_real_socket() -> None:
    with trio.fail_after(20):
        fake = scenario_fake(scenario="S1b", seed=1, skus=3, marketplaces=["DE"])
        market = fake.apis[0].market
        shutdown = trio.Event()
        async with trio.open_nursery() as nursery:
            url = await nursery.start(partial(serve, fake, port=0, shutdown=shutdown))
            assert url.startswith("http://127.0.0.1:")
            account = SellerAccount(
                id="sim-eu",
                merchant_id=market.seller_id(0, 0),
                region="EU",
                credentials=Credentials(
                    "amzn1.application-oa2-client.sim",
                    Secret("anything"),
                    Secret(SIM_REFRESH_TOKEN),
                    CredentialSources("literal", "literal", "literal"),
                ),
                endpoints=Endpoints(sp_api=url, lwa_token=f"{url}{LWA_TOKEN_PATH}"),
                markets=(),
            )
            async with httpx.AsyncClient() as http:
                client = SpApiClient(account, http, AccessTokens(account, http))
                offers = catalog_settings(market, seller="sim-eu")
                amazon = SpApiMarketplace(account, "DE", client, offers)
                (state,) = await amazon.read_back([offers[0].key])
                stats = (await http.get(f"{url}{STATS_PATH}")).json()
            shutdown.set()
    assert isinstance(state, ListingState)
    assert state.price == int(market.spec.start_price[0])
    assert stats["answered"] == {"getListingsItem": 1}
    assert stats["token_exchanges"] == 1


def test_repricer_sim_serve_says_where_it_listens_and_stops_on_sigterm(tmp_path: Path) -> None:
    catalog = tmp_path / "catalog.csv"
    command = [sys.executable, "-m", "engine.cli", "sim", "serve", "--port", "0", "--skus", "2"]
    command += ["--marketplaces", "DE", "--time-scale", "30", "--catalog", str(catalog)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as process:
        try:
            assert process.stdout is not None
            line = process.stdout.readline()
            url = line.split(" on ", 1)[1].split(" ", 1)[0]
            token = httpx.post(
                f"{url}{LWA_TOKEN_PATH}",
                data={
                    "grant_type": "refresh_token",
                    "refresh_token": SIM_REFRESH_TOKEN,
                    "client_id": "a",
                    "client_secret": "b",
                },
                timeout=10,
            )
            process.send_signal(signal.SIGTERM)
            code = process.wait(timeout=20)
        finally:
            if process.poll() is None:
                process.kill()
    assert "seller A0CCVNLNJ6LRQA, refresh token Atzr|sim" in line
    assert "2 SKUs SKU-000000..SKU-000001 in each of DE" in line
    assert token.status_code == 200
    assert code == 0
    assert catalog.read_text(encoding="utf-8").count("\n") == 3  # a header and two offers


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["--scenario", "S99"], "unknown scenario 'S99'"),
        (["--faults", '{"throttle": {"share": 3}}'], "--faults"),
        (["--faults", '{"storm": {}}'], "storm"),
    ],
)
def test_a_bad_option_is_one_line_and_exit_code_2(
    argv: list[str], words: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["sim", "serve", *argv]) == 2
    err = capsys.readouterr().err
    assert words in err and err.count("\n") == 1


def test_a_port_in_use_is_refused_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["sim", "serve", "--port", str(port), "--skus", "1", "--marketplaces", "DE"]) == 2
    err = capsys.readouterr().err
    assert f"cannot listen on 127.0.0.1:{port}" in err and err.count("\n") == 1
