"""Amazon's JSON as msgspec Structs, one module per API, with the field names Amazon spells.

`common` (errors, a batch item's status line, `WireError`), `pricing_v0` (offers of items and listings),
`pricing_2022` (featured offer expected price, competitive summary), `listings` (patch, read back) and `feeds`
(JSON_LISTINGS_FEED and its processing report). Each module holds only what the adapter reads or writes; the
translation into the engine's types lives one level up, in `adapters.spapi`.
"""
