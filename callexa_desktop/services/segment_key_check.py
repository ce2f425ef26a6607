"""Checking a Segment write key before it is saved ("Test connection" in the keys dialog).

Segment's Tracking API has no "who am I" route, so the check posts an *empty* batch
(``{"batch": []}``) to ``<endpoint>/v1/batch`` with the key as Basic-auth user name.
An empty batch carries no event, so nothing reaches the workspace whatever the answer:

- 2xx: the endpoint answered and did not refuse the key;
- 401 or 403: the key was refused;
- anything else, or no answer: the endpoint is wrong or unreachable (a sentence says which).

Segment may accept requests for keys it later drops, so a 2xx proves the endpoint and
the key's form, not that events will land in the intended source; the first real sync's
Activity entry settles that. The key never appears in a message or a log record.
"""

from __future__ import annotations

import logging

import httpx

from callexa_desktop.core.errors import CallexaError
from callexa_desktop.services.tls import verified_tls

log = logging.getLogger(__name__)

CHECK_PATH = "/v1/batch"


class SegmentKeyRefused(CallexaError):
    """Segment answered that the write key is not valid."""


class SegmentUnreachable(CallexaError):
    """Segment's endpoint could not be reached or answered something unexpected."""


def check_write_key(
    endpoint: str,
    write_key: str,
    *,
    transport: httpx.BaseTransport | None = None,
    timeout: float = 10.0,
) -> str:
    """Post an empty batch to ``endpoint`` with ``write_key``; returns a sentence on success.

    Raises SegmentKeyRefused (401/403) or SegmentUnreachable (network trouble, any other
    status), each with one sentence that never contains the key.
    """
    url = endpoint.rstrip("/") + CHECK_PATH
    try:
        with httpx.Client(transport=transport, verify=verified_tls(), timeout=timeout) as client:
            reply = client.post(url, json={"batch": []}, auth=(write_key, ""))
    except httpx.TimeoutException:
        raise SegmentUnreachable(
            f"Segment at {endpoint} did not answer within {timeout:g} seconds; "
            "check the Segment endpoint in Settings and your internet connection."
        ) from None
    except httpx.HTTPError as error:
        log.info("Segment key check could not connect: %s", type(error).__name__)
        raise SegmentUnreachable(
            f"Segment at {endpoint} could not be reached; check the Segment endpoint in "
            "Settings and your internet connection."
        ) from None
    if reply.status_code in (401, 403):
        raise SegmentKeyRefused(
            "Segment refused this write key; copy it again from the source's settings in "
            "Segment (Settings → API Keys) and make sure the endpoint region (US/EU) matches."
        )
    if not reply.is_success:
        raise SegmentUnreachable(
            f"Segment at {endpoint} answered with an unexpected status ({reply.status_code}); "
            "check the Segment endpoint in Settings."
        )
    return f"Segment at {endpoint} accepted the write key."
