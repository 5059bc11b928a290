"""``[seller.notifications]``: a queue URL resolves to the queue's ARN, region and endpoint, its key from the
environment or the file, its secret masked wherever shown; a secret written in a file others may read is refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.config import ConfigError, load
from tests.config.files import ENVIRON, SELLER, write

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


def test_a_queue_url_gives_the_arn_region_and_endpoint_and_the_secret_stays_masked(tmp_path: Path) -> None:
    text = (
        SELLER
        + """
[seller.notifications]
queue_url = "https://sqs.eu-west-1.amazonaws.com/123456789012/repricer"
aws_access_key_id_env = "TEST_AWS_KEY"
aws_secret_access_key_env = "TEST_AWS_SECRET"
"""
    )
    config = load(write(tmp_path, text), {**ENVIRON, "TEST_AWS_KEY": "AKIAIOSFODNN7EXAMPLE", "TEST_AWS_SECRET": SECRET})
    [seller] = config.sellers
    queue = seller.notifications
    assert queue is not None
    assert queue.arn == "arn:aws:sqs:eu-west-1:123456789012:repricer"
    assert (queue.region, queue.endpoint) == ("eu-west-1", "https://sqs.eu-west-1.amazonaws.com")
    assert queue.access_key_id == "AKIAIOSFODNN7EXAMPLE" and queue.secret_access_key.reveal() == SECRET
    assert queue.sources == ("env TEST_AWS_KEY", "env TEST_AWS_SECRET")
    assert SECRET not in repr(config) and SECRET not in str(config)


def test_a_local_fake_names_its_region_and_a_seller_without_a_queue_reads_none(tmp_path: Path) -> None:
    text = (
        SELLER
        + """
[seller.notifications]
queue_url = "http://127.0.0.1:8765/000000000000/repricer-sim"
aws_region = "eu-west-1"
aws_access_key_id = "AKIASIMULATEDQUEUE00"
aws_secret_access_key_env = "TEST_AWS_SECRET"
"""
    )
    queue = load(write(tmp_path, text), {**ENVIRON, "TEST_AWS_SECRET": SECRET}).sellers[0].notifications
    assert queue is not None and queue.endpoint == "http://127.0.0.1:8765"
    assert queue.arn == "arn:aws:sqs:eu-west-1:000000000000:repricer-sim"
    assert load(write(tmp_path, SELLER, name="plain.toml"), ENVIRON).sellers[0].notifications is None


def test_a_secret_access_key_written_in_a_file_others_may_read_is_refused(tmp_path: Path) -> None:
    text = (
        SELLER
        + f"""
[seller.notifications]
queue_url = "https://sqs.eu-west-1.amazonaws.com/123456789012/repricer"
aws_access_key_id = "AKIAIOSFODNN7EXAMPLE"
aws_secret_access_key = "{SECRET}"
"""
    )
    with pytest.raises(ConfigError) as raised:
        load(write(tmp_path, text, mode=0o644), ENVIRON)
    assert "seller[0].notifications.aws_secret_access_key" in str(raised.value)
    assert "chmod 600" in str(raised.value) and SECRET not in str(raised.value)
