-- SQLite serves one process only: its positions come from memory (sceau/streams.py).
SELECT 1;
