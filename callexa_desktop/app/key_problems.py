"""Key problems in the window's words.

The services say how to fix a missing or refused key the command-line way ("store the
right key with `callexa-desktop keys set segment`"). In the window the fix is the Keys…
dialog: ``for_the_window`` rewrites such a sentence to point there, keeps the original
for the Details expander, and names the key so the error box can offer to open the dialog.
"""

from __future__ import annotations

import re

from callexa_desktop.app.workers import TaskError
from callexa_desktop.services.keychain import LABELS, KeyName

# How the services name the command that sets a key.
_KEY_COMMAND = re.compile(r"`callexa-desktop keys set (callexa|segment)`")

SERVICE_NAMES = {KeyName.CALLEXA: "Callexa", KeyName.SEGMENT: "Segment"}
# The key as its own service calls it: "Segment refused the write key".
SHORT_LABELS = {KeyName.CALLEXA: "API key", KeyName.SEGMENT: "write key"}


def key_named_in(sentence: str) -> str | None:
    """The key (``KeyName``) whose command-line fix ``sentence`` gives, or None."""
    found = _KEY_COMMAND.search(sentence)
    return found.group(1) if found else None


def window_sentence(sentence: str) -> str:
    """``sentence`` pointing at the Keys… dialog instead of the command line (unchanged
    when it is not about a key)."""
    key = key_named_in(sentence)
    if key is None:
        return sentence
    lowered = sentence.lower()
    if "refused" in lowered:
        text = (
            f"{SERVICE_NAMES[key]} refused the {SHORT_LABELS[key]}. "
            "Open Keys… to check or replace it."
        )
        if "region" in lowered:
            # A right key sent to the other region's endpoint is refused the same way.
            text += f" If the key is right, check the {SERVICE_NAMES[key]} endpoint in Settings."
        return text
    if lowered.startswith("no "):
        return f"No {LABELS[key]} is set. Open Keys… to add it."
    if "characters" in lowered:
        return f"The {LABELS[key]} contains characters a key cannot have. Open Keys… to replace it."
    return f"Something is wrong with the {LABELS[key]}. Open Keys… to check or replace it."


def for_the_window(error: TaskError) -> TaskError:
    """``error`` as the window shows it: a key problem points at Keys… (``key_name`` set)
    and keeps the original sentence in the details; any other error is returned as is."""
    key = key_named_in(error.sentence)
    if key is None:
        return error
    details = "\n".join(part for part in (error.sentence, error.details) if part)
    return TaskError(window_sentence(error.sentence), details, key_name=key)
