"""Every mistake in a configuration file is one error naming the file, the line and the key: ``FILE:LINE: key: …``.

Each case marks the line the error must name with ``# <-``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.config import ConfigError, load
from tests.config.files import ENVIRON, MERCHANT_ID, SELLER, write

MARK = "# <-"
QUEUE = "https://sqs.eu-west-1.amazonaws.com/123456789012/repricer"
KEY_ID = "AKIAIOSFODNN7EXAMPLE"
NOTIFICATIONS = f"""
[seller.notifications]
queue_url = "{QUEUE}"
aws_access_key_id = "{KEY_ID}"
aws_secret_access_key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
"""

CASES: list[tuple[str, str, str, str]] = [
    # (case, file text, key path, part of the problem)
    ("unknown key at the top", f'databse = "x.db"  {MARK}\n{SELLER}', "databse", "did you mean database?"),
    (
        "unknown key in a seller",
        SELLER.replace('region = "eu"', f'region = "eu"\nregoin = "eu"  {MARK}'),
        "seller[0].regoin",
        "did you mean region?",
    ),
    (
        "unknown key in the credentials",
        SELLER + f'client_secret_evn = "X"  {MARK}\n',
        "seller[0].credentials.client_secret_evn",
        "unknown key",
    ),
    (
        "unknown key in a channel table",
        f"{SELLER}\n[seller.channel.DE]\nstep_cap = 0.05\nstepcap = 0.05  {MARK}\n",
        "seller[0].channel.DE.stepcap",
        "did you mean step_cap?",
    ),
    (
        "unknown key in an inline competitors table",
        f"{SELLER}\n[seller.channel.DE]\ncompetitors = {{ include_amazn = false }}  {MARK}\n",
        "seller[0].channel.DE.competitors.include_amazn",
        "did you mean include_amazon?",
    ),
    (
        "unknown key in an offer override",
        f'{SELLER}\n[seller.channel.DE.offers."SKU 1"]\nstep_cap = 0.02\nsale = 1  {MARK}\n',
        'seller[0].channel.DE.offers."SKU 1".sale',
        "unknown key",
    ),
    (
        "an offer override inside an offer override",
        f"{SELLER}\n[seller.channel.DE.offers.A]\noffers.B.step_cap = 0.02  {MARK}\n",
        "seller[0].channel.DE.offers.A.offers",
        "unknown key",
    ),
    (
        "wrong type of a channel setting",
        f'{SELLER}\n[seller.channel.FR]\ndry_run = "yes"  {MARK}\n',
        "seller[0].channel.FR.dry_run",
        "expected a boolean (true or false), got a string",
    ),
    ("wrong type at the top", f"database = 5  {MARK}\n{SELLER}", "database", "expected a string, got an integer"),
    (
        "wrong type of an element of a multi-line array",
        SELLER.replace('["DE", "FR"]', f'[\n  "DE",\n  7,  {MARK}\n]'),
        "seller[0].marketplaces[1]",
        "expected a string, got an integer",
    ),
    (
        "a table where a value belongs",
        f"{SELLER}\n[seller.channel.DE.step_cap]  {MARK}\nvalue = 1\n",
        "seller[0].channel.DE.step_cap",
        "expected a number, got a table",
    ),
    (
        "a value that is no table of an offer",
        f'{SELLER}\n[seller.channel.DE]\noffers = {{ "SKU-1" = 0.02 }}  {MARK}\n',
        "seller[0].channel.DE.offers.SKU-1",
        "expected a table",
    ),
    (
        "step_cap above 1",
        f"{SELLER}\n[seller.channel.DE]\nstep_cap = 1.5  {MARK}\n",
        "seller[0].channel.DE.step_cap",
        "1.5 is not a share above 0 and at most 1",
    ),
    (
        "step_cap 0 in an offer override",
        f"{SELLER}\n[seller.channel.DE]\nstep_cap = 0.05\n[seller.channel.DE.offers.SKU-2]\nstep_cap = 0  {MARK}\n",
        "seller[0].channel.DE.offers.SKU-2.step_cap",
        "0 is not a share above 0 and at most 1",
    ),
    (
        "a competitor filter out of range, as a dotted key of an offer",
        f"{SELLER}\n[seller.channel.FR.offers.SKU-3]\ncompetitors.min_feedback_pct = 101  {MARK}\n",
        "seller[0].channel.FR.offers.SKU-3.competitors.min_feedback_pct",
        "101 is not a percentage",
    ),
    (
        "an action the channel does not know",
        f'{SELLER}\n[seller.channel.DE]\nbuybox_unavailable_action = "wait"  {MARK}\n',
        "seller[0].channel.DE.buybox_unavailable_action",
        "'wait' is not one of: 'hold', 'use_max', 'compete_lowest', 'use_sale_price'",
    ),
    (
        "a region Amazon does not have",
        SELLER.replace('region = "eu"', f'region = "europe"  {MARK}'),
        "seller[0].region",
        "'europe' is not one of: 'eu', 'fe', 'na'",
    ),
    (
        "a marketplace outside the seller's region",
        SELLER.replace('["DE", "FR"]', f'["DE", "US"]  {MARK}'),
        "seller[0].marketplaces[1]",
        "US is in region na, this seller's region is eu",
    ),
    (
        "an unknown marketplace code",
        SELLER.replace('["DE", "FR"]', f'["DE", "XX"]  {MARK}'),
        "seller[0].marketplaces[1]",
        "unknown marketplace 'XX'",
    ),
    (
        "a marketplace code in lower case",
        SELLER.replace('["DE", "FR"]', f'["de"]  {MARK}'),
        "seller[0].marketplaces[0]",
        "write it as DE",
    ),
    (
        "a marketplace named twice",
        SELLER.replace('["DE", "FR"]', f'["DE", "FR", "DE"]  {MARK}'),
        "seller[0].marketplaces[2]",
        "DE is named twice",
    ),
    ("no marketplace", SELLER.replace('["DE", "FR"]', f"[]  {MARK}"), "seller[0].marketplaces", "no marketplace"),
    (
        "settings for a marketplace the seller does not have",
        f"{SELLER}\n[seller.channel.IT]  {MARK}\ndry_run = true\n",
        "seller[0].channel.IT",
        "'IT' is not one of this seller's marketplaces (DE, FR)",
    ),
    (
        "a duplicate seller id",
        f"{SELLER}\n" + SELLER.replace('id = "acme-eu"', f'id = "acme-eu"  {MARK}'),
        "seller[1].id",
        "'acme-eu' is already the id of seller[0] (line 2)",
    ),
    (
        "a seller id with a space",
        SELLER.replace('id = "acme-eu"', f'id = "acme eu"  {MARK}'),
        "seller[0].id",
        "without whitespace",
    ),
    (
        "a seller without a merchant id",
        SELLER.replace(f'merchant_id = "{MERCHANT_ID}"\n', "").replace("[[seller]]", f"[[seller]]  {MARK}"),
        "seller[0].merchant_id",
        "required, but missing",
    ),
    (
        "a merchant id with a space",
        SELLER.replace(f'"{MERCHANT_ID}"', f'"A2EUQ1 WTGCTBG2"  {MARK}'),
        "seller[0].merchant_id",
        "letters and digits only",
    ),
    (
        "a merchant id with punctuation",
        SELLER.replace(f'"{MERCHANT_ID}"', f'"A2EUQ1-WTGCTBG2"  {MARK}'),
        "seller[0].merchant_id",
        "letters and digits only",
    ),
    (
        "an empty merchant id",
        SELLER.replace(f'"{MERCHANT_ID}"', f'""  {MARK}'),
        "seller[0].merchant_id",
        "is not a merchant id",
    ),
    (
        "an error in the second seller's channel table",
        f"{SELLER}\n[seller.channel.FR]\nstep_cap = 0.05\n\n"
        f"{SELLER.replace('acme-eu', 'acme-2')}\n[seller.channel.FR]\nstep_cap = 2  {MARK}\n",
        "seller[1].channel.FR.step_cap",
        "2 is not a share",
    ),
    (
        "an environment variable that is not set",
        SELLER.replace('"TEST_REFRESH_TOKEN"', f'"TEST_UNSET_VARIABLE"  {MARK}'),
        "seller[0].credentials.refresh_token_env",
        "the environment variable TEST_UNSET_VARIABLE is not set",
    ),
    (
        "an environment variable that is empty",
        SELLER.replace('"TEST_REFRESH_TOKEN"', f'"TEST_EMPTY"  {MARK}'),
        "seller[0].credentials.refresh_token_env",
        "the environment variable TEST_EMPTY is empty",
    ),
    (
        "a credential given both literally and by environment",
        SELLER.replace(
            'client_secret_env = "TEST_CLIENT_SECRET"', f'client_secret = "x"\nclient_secret_env = "Y"  {MARK}'
        ),
        "seller[0].credentials.client_secret_env",
        "client_secret is given both literally and as client_secret_env",
    ),
    (
        "a credential given neither way",
        SELLER.replace("[seller.credentials]", f"[seller.credentials]  {MARK}").replace(
            'refresh_token_env = "TEST_REFRESH_TOKEN"\n', ""
        ),
        "seller[0].credentials.refresh_token",
        "missing: give it literally",
    ),
    (
        "a missing credentials table",
        f'[[seller]]  {MARK}\nid = "a"\nmerchant_id = "A1"\nregion = "eu"\nmarketplaces = ["DE"]\n',
        "seller[0].credentials",
        "required, but missing",
    ),
    ("no seller at all", f'database = "x.db"  {MARK}\n', "seller", "required, but missing"),
    ("an empty list of sellers", f"seller = []  {MARK}\n", "seller", "no seller account"),
    (
        "plain http to another machine",
        f'{SELLER}\n[seller.endpoints]\nsp_api = "http://sellingpartnerapi-eu.amazon.com"  {MARK}\n',
        "seller[0].endpoints.sp_api",
        "would send credentials in clear",
    ),
    (
        "an endpoint that is no URL",
        f'{SELLER}\n[seller.endpoints]\nlwa_token = "api.amazon.com/auth/o2/token"  {MARK}\n',
        "seller[0].endpoints.lwa_token",
        "is not an http(s) URL",
    ),
    ("a log level logs.py does not know", f'[log]\nlevel = "loud"  {MARK}\n{SELLER}', "log.level", "'loud'"),
    (
        "a TOML syntax error",
        f"{SELLER}\n[seller.channel.DE]\nstep_cap =   {MARK}\n",
        "",
        "not valid TOML: invalid value",
    ),
    ("a table defined twice", f"{SELLER}\n[seller.channel.DE]\n[seller.channel.DE]  {MARK}\n", "", "not valid TOML"),
    (
        "unknown key in the notifications",
        SELLER + NOTIFICATIONS + f'queue_ulr = "{QUEUE}"  {MARK}\n',
        "seller[0].notifications.queue_ulr",
        "unknown key",
    ),
    (
        "a queue URL that names no queue",
        SELLER
        + NOTIFICATIONS.replace(
            f'queue_url = "{QUEUE}"', f'queue_url = "https://sqs.eu-west-1.amazonaws.com/repricer"  {MARK}'
        ),
        "seller[0].notifications.queue_url",
        "does not name a queue: its path must be /ACCOUNT/QUEUE",
    ),
    (
        "a queue URL whose host does not say the region",
        SELLER
        + NOTIFICATIONS.replace(
            f'queue_url = "{QUEUE}"', f'queue_url = "http://127.0.0.1:8765/000000000000/q"  {MARK}'
        ),
        "seller[0].notifications.queue_url",
        "does not say the queue's AWS region: add aws_region",
    ),
    (
        "a queue URL in clear over the network",
        SELLER
        + NOTIFICATIONS.replace(
            f'queue_url = "{QUEUE}"', f'queue_url = "http://sqs.eu-west-1.amazonaws.com/123456789012/q"  {MARK}'
        ),
        "seller[0].notifications.queue_url",
        "in clear",
    ),
    (
        "a region that contradicts the queue URL",
        SELLER + NOTIFICATIONS + f'aws_region = "us-east-1"  {MARK}\n',
        "seller[0].notifications.aws_region",
        "contradicts the queue URL",
    ),
    (
        "a secret where the access key id goes",
        SELLER
        + NOTIFICATIONS.replace(f'aws_access_key_id = "{KEY_ID}"', f'aws_access_key_id = "wJalr/XUtnFEMI"  {MARK}'),
        "seller[0].notifications.aws_access_key_id",
        "is not an AWS access key id",
    ),
    (
        "no secret access key",
        SELLER
        + NOTIFICATIONS.replace('aws_secret_access_key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"', "").replace(
            "[seller.notifications]", f"[seller.notifications]  {MARK}"
        ),
        "seller[0].notifications.aws_secret_access_key",
        "missing",
    ),
    (
        "two sellers reading one queue with two keys",
        SELLER
        + NOTIFICATIONS
        + SELLER.replace('id = "acme-eu"', 'id = "other-eu"')
        + NOTIFICATIONS.replace(KEY_ID, "AKIAOTHERKEY00000000").replace(
            f'queue_url = "{QUEUE}"', f'queue_url = "{QUEUE}"  {MARK}'
        ),
        "seller[1].notifications.queue_url",
        "is also seller[0].notifications.queue_url's (line 13), read there with another access key",
    ),
    (
        "unknown key in the feeds",
        f"{SELLER}\n[seller.feeds]\nleast = 100\nmots = 500  {MARK}\n",
        "seller[0].feeds.mots",
        "did you mean most?",
    ),
    (
        "a feed that may carry more than Amazon takes",
        f"{SELLER}\n[seller.feeds]  {MARK}\nmost = 30000\n",
        "seller[0].feeds",
        "a feed's size must be 1 <= least <= most <= 25,000, not least 250 and most 30000",
    ),
    (
        "a feed polled never",
        f"{SELLER}\n[seller.feeds]  {MARK}\npoll_every_s = 0\n",
        "seller[0].feeds",
        "poll_every_s and give_up_after_s must be positive",
    ),
    (
        "a feed size that is not a whole number",
        f"{SELLER}\n[seller.feeds]\nleast = 2.5  {MARK}\n",
        "seller[0].feeds.least",
        "int",
    ),
]


@pytest.mark.parametrize(("text", "key", "problem"), [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_each_mistake_names_the_file_the_line_and_the_key(tmp_path: Path, text: str, key: str, problem: str) -> None:
    [line] = [number for number, content in enumerate(text.splitlines(), 1) if content.endswith(MARK)]
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as raised:
        load(path, environ={**ENVIRON, "TEST_EMPTY": " "})
    error = raised.value
    assert (error.file, error.line) == (path, line), str(error)
    expected = f"{path}:{line}: {key}: " if key else f"{path}:{line}: "
    assert str(error).startswith(expected), str(error)
    assert problem in error.problem, str(error)


def test_a_file_that_cannot_be_read_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.toml"
    with pytest.raises(ConfigError) as raised:
        load(missing)
    assert str(raised.value).startswith(f"{missing}: cannot read it: ")
    assert raised.value.line is None


def test_a_file_that_is_not_utf8_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "latin1.toml"
    path.write_bytes(SELLER.encode() + b"\n# caf\xe9\n")
    with pytest.raises(ConfigError) as raised:
        load(path, environ=ENVIRON)
    assert raised.value.line == SELLER.count("\n") + 2
    assert "UTF-8" in str(raised.value)


def test_a_syntax_error_at_the_end_names_the_last_line(tmp_path: Path) -> None:
    path = write(tmp_path, f"{SELLER}\nmarketplaces = [1,")
    with pytest.raises(ConfigError) as raised:
        load(path, environ=ENVIRON)
    assert raised.value.line == SELLER.count("\n") + 2
