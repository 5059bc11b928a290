"""Configuration files for the tests: written with a given mode, and one valid seller to build cases on."""

from __future__ import annotations

import textwrap
from pathlib import Path

# Values no output may ever show: each test that could leak them looks for them.
CLIENT_SECRET = "amzn1.oa2-cs.v1.test-client-secret-4711"
REFRESH_TOKEN = "Atzr|test-refresh-token-0815"
ENVIRON = {"TEST_CLIENT_SECRET": CLIENT_SECRET, "TEST_REFRESH_TOKEN": REFRESH_TOKEN}
MERCHANT_ID = "A2EUQ1WTGCTBG2"

SELLER = f"""\
[[seller]]
id = "acme-eu"
merchant_id = "{MERCHANT_ID}"
region = "eu"
marketplaces = ["DE", "FR"]

[seller.credentials]
client_id = "amzn1.application-oa2-client.test"
client_secret_env = "TEST_CLIENT_SECRET"
refresh_token_env = "TEST_REFRESH_TOKEN"
"""


def write(directory: Path, text: str, *, mode: int = 0o600, name: str = "repricer.toml") -> Path:
    path = directory / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    path.chmod(mode)
    return path
