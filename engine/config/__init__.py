"""The configuration file: a TOML file of seller accounts, checked whole before anything starts.

    database = "/var/lib/repricer/repricer.db"   # default: repricer.db in the user's data directory
    control_socket = "/run/repricer/control.sock"  # default: control.sock in the user's runtime directory

    [log]
    level = "info"                                 # debug | info | warning | error
    format = "json"                                # plain | json

    [[seller]]                                     # one per seller account and region
    id = "acme-eu"                                 # the account's name in offer keys, status and history
    merchant_id = "A2EUQ1WTGCTBG2"                 # Amazon's merchant token: letters and digits
    region = "eu"                                  # na | eu | fe
    marketplaces = ["DE", "FR", "IT"]              # country codes, all in the region

    [seller.credentials]                           # each literally, or <name>_env = "VARIABLE"
    client_id = "amzn1.application-oa2-client.…"
    client_secret_env = "REPRICER_LWA_CLIENT_SECRET"
    refresh_token_env = "REPRICER_REFRESH_TOKEN"

    [seller.endpoints]                             # only for a fake; default: Amazon's for the region
    sp_api = "http://127.0.0.1:8765"
    lwa_token = "http://127.0.0.1:8765/auth/o2/token"

    [seller.notifications]                         # optional: the SQS queue ANY_OFFER_CHANGED arrives in
    queue_url = "https://sqs.eu-west-1.amazonaws.com/123456789012/repricer"
    aws_access_key_id_env = "REPRICER_AWS_ACCESS_KEY_ID"
    aws_secret_access_key_env = "REPRICER_AWS_SECRET_ACCESS_KEY"

    [seller.feeds]                                 # optional: when updates go as a JSON_LISTINGS_FEED
    least = 250                                    # updates waiting before a feed is made (fewer: patches)
    most = 10000                                   # updates a feed carries at most (Amazon: 25,000)
    poll_every_s = 30                              # getFeed this often while it is processed
    give_up_after_s = 3600                         # a feed not done by then: its updates are sent again

    [seller.channel.DE]                            # `engine.model.ChannelSettings`; defaults where left out
    step_cap = 0.05
    buybox_unavailable_action = "use_max"

    [seller.channel.DE.competitors]                # `engine.model.CompetitorFilter`
    include_amazon = false

    [seller.channel.DE.offers."SKU-1"]             # what differs for one SKU, merged over [seller.channel.DE]
    step_cap = 0.02

Every problem is one `ConfigError`, ``FILE:LINE: key.path: what is wrong``: TOML syntax, an unknown key (a typo
is an error, never a silent default), a wrong type, a value the model refuses, a marketplace outside the seller's
region, a duplicate seller, a missing environment variable, a secret in a file others may read. `load` stops at
the first; `repricer config check FILE` runs it without starting anything.

The modules, one concern each: `schema` (the file's tables), `decode` (TOML to tables, errors located through
`locate`), `credentials` (literal or environment, `Secret`, the file's mode), `queues` (the notifications' SQS
queue), `channels` (settings merged per offer), `load` (the checks across tables), `resolved` (what the engine
gets), `summary` (what `check` prints).
"""

from engine.config.credentials import Credentials, CredentialSources, Secret
from engine.config.errors import ConfigError
from engine.config.feeds import MAX_FEED_MESSAGES, FeedSettings
from engine.config.load import load
from engine.config.resolved import (
    LWA_TOKEN_URL,
    Config,
    Endpoints,
    MarketSettings,
    QueueSettings,
    SellerAccount,
    default_database,
)
from engine.config.summary import ConfigSummary, MarketSummary, SellerSummary, changed_settings, summarise

__all__ = [
    "LWA_TOKEN_URL",
    "MAX_FEED_MESSAGES",
    "Config",
    "ConfigError",
    "ConfigSummary",
    "CredentialSources",
    "Credentials",
    "Endpoints",
    "FeedSettings",
    "MarketSettings",
    "MarketSummary",
    "QueueSettings",
    "Secret",
    "SellerAccount",
    "SellerSummary",
    "changed_settings",
    "default_database",
    "load",
    "summarise",
]
