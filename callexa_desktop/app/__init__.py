"""The window: Qt only. Every action calls the same core functions as the command line."""
