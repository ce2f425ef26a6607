"""Readers of identify records: files and streams in every supported format, streamed."""

from callexa_desktop.core.reading.identify_reader import read_identify_file, read_identify_stream

__all__ = ["read_identify_file", "read_identify_stream"]
