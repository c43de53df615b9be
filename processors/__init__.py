"""Stream processors: pure handlers over the engine's records, around the rules in ``domain``.

Each handler turns one input record and its partition's tables into output records; the engine
(:mod:`streams.engine`) does the reading, writing and committing. :func:`topology` puts them
together for a worker.
"""
