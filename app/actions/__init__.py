"""Actions: the base class, the registry and the built-in ``std.*`` actions."""
