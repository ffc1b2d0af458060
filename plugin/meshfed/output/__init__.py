"""Planned objects and their writer: the rows both layouts share, the YAML/JSON writer, the objects
as the adapters see them, and the one safe way to write files."""
