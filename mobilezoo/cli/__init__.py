"""The ``mobilezoo`` command line (see ``mobilezoo --help``)."""
