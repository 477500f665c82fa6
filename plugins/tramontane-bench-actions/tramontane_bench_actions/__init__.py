"""Actions for the benchmark, installed as a plugin so they take the executor path of user actions."""
