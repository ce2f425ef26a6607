"""A local stand-in for Callexa and Segment, for rehearsal, demos and tests."""
