"""NDJSON identify records for tests that only need valid, distinct customers."""

from __future__ import annotations

import json


def identify_lines(*numbers: int) -> str:
    """One identify line per number: messageId ``m-N``, userId ``u-N``, ``personN@example.com``."""
    return "".join(
        json.dumps(
            {
                "type": "identify",
                "messageId": f"m-{n}",
                "userId": f"u-{n}",
                "timestamp": "2026-01-01T00:00:00Z",
                "traits": {"email": f"person{n}@example.com"},
            }
        )
        + "\n"
        for n in numbers
    )
