"""The outside world over HTTP: the Callexa client, the Segment client, the sandbox."""
