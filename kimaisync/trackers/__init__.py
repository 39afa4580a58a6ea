"""Time trackers the sync can write to, one package each (Kimai 2: `kimaisync.trackers.kimai2`)."""
