"""Several ``sceau serve`` processes on one PostgreSQL, with Redis between them.

- :mod:`sceau.cluster.stream`: positions from a PostgreSQL sequence, and the
  position below which every process has finished (what /sync may read up to);
- :mod:`sceau.cluster.bus`: the Redis channel that carries each process's
  finished position, its change-tracker records, its wake-ups and its cache
  invalidations to the others;
- :mod:`sceau.cluster.notifier`: the notifier behind the same interface as
  :class:`sceau.notifier.Notifier`, whose wake-ups wait for that position.

One process (SQLite, or PostgreSQL without ``workers``) uses none of this.
"""
