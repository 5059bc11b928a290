"""The daemon and the SP-API fake as real processes over loopback: the smoke test and the kill test."""
