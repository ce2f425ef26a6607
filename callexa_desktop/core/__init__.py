"""The Qt-free heart of Callexa Desktop: storage, rules, import, queue, sync planning.

Nothing in this package may import Qt; ``tests/core/test_layering.py`` enforces it.
"""
