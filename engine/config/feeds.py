"""``[seller.feeds]``: when a seller's updates go to Amazon as one JSON_LISTINGS_FEED rather than a
patchListingsItem each, and how a feed is followed until Amazon has processed it (`adapters.spapi.feeder`).

Its own module, importing nothing of the configuration's: the file's table (`engine.config.schema.FeedsTable`)
is this struct refusing unknown keys, so its defaults and checks are the file's too.
"""

from __future__ import annotations

from typing import Final

import msgspec

__all__ = ["MAX_FEED_MESSAGES", "FeedSettings"]

# The most messages Amazon takes in one JSON_LISTINGS_FEED.
MAX_FEED_MESSAGES: Final = 25_000


class FeedSettings(msgspec.Struct, frozen=True):
    """``[seller.feeds]``: when a seller's updates go as a JSON_LISTINGS_FEED rather than one patchListingsItem each,
    and how a feed is followed (`adapters.spapi.feeder`)."""

    # A feed carries at least this many updates: fewer go sooner as patches (a minute of the patch quota sends about
    # 280, while a feed is processed in minutes and spends one of a handful of feed submissions per five minutes).
    least: int = 250
    # And at most this many: Amazon takes 25,000 messages a feed, but a smaller document uploads and is processed
    # sooner, and a backlog that large takes more than one feed's time to build anyway.
    most: int = 10_000
    # getFeed this long after the feed was made, and again as long after each answer that it is not over.
    poll_every_s: float = 30.0
    # A feed not over this long after its following began fails every update it carries, to be sent again.
    give_up_after_s: float = 3600.0

    def __post_init__(self) -> None:
        if not 1 <= self.least <= self.most <= MAX_FEED_MESSAGES:
            raise ValueError(
                f"a feed's size must be 1 <= least <= most <= {MAX_FEED_MESSAGES:,}, not least {self.least} and "
                f"most {self.most}"
            )
        if not (self.poll_every_s > 0 and self.give_up_after_s > 0):
            raise ValueError(
                f"a feed's poll_every_s and give_up_after_s must be positive, not {self.poll_every_s:g} and "
                f"{self.give_up_after_s:g}"
            )
