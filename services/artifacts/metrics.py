"""Prometheus metrics of the artifact service: bytes moved and saved, storage, sessions, GC.

Ratios are left to PromQL, for example the stored/raw ratio of committed blobs is
``rate(mreg_artifact_committed_bytes_total{kind="stored"}[1h]) /
rate(mreg_artifact_committed_bytes_total{kind="raw"}[1h])``.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge

BYTES_RECEIVED = Counter(
    "mreg_artifact_bytes_received_total",
    "Bytes received from clients, as they travelled (after client compression)",
    ["path"],
)
BYTES_DEDUPLICATED = Counter(
    "mreg_artifact_bytes_deduplicated_total",
    "Bytes clients did not need to send because the chunks were already stored",
)
BYTES_SENT = Counter(
    "mreg_artifact_bytes_sent_total", "Bytes sent to clients by ReadBlob, as they travelled"
)
CHUNKS_STORED = Counter(
    "mreg_artifact_chunks_stored_total", "New chunks written to the backend by UploadChunks"
)
COMMITTED_BYTES = Counter(
    "mreg_artifact_committed_bytes_total",
    "Bytes of blobs committed through CommitBlob: raw content, and its chunks at rest",
    ["kind"],
)
UPLOADS_IN_FLIGHT = Gauge(
    "mreg_artifact_upload_sessions_in_flight", "Plain upload streams being received"
)
GC_RUNS = Counter("mreg_artifact_gc_runs_total", "Garbage collections run", ["dry_run"])
GC_REMOVED = Counter(
    "mreg_artifact_gc_removed_total", "Objects removed by garbage collection", ["kind"]
)
GC_BYTES_FREED = Counter("mreg_artifact_gc_bytes_freed_total", "Bytes freed by garbage collection")
CHUNKS_QUARANTINED = Counter(
    "mreg_artifact_chunks_quarantined_total",
    "Stored chunks found corrupt (by a read or a scrub) and moved to quarantine",
)
COMPACTED_CHUNKS = Counter(
    "mreg_artifact_compacted_chunks_total",
    "Chunks stored raw on upload and compressed later by the compactor",
)
COMPACTION_BYTES = Counter(
    "mreg_artifact_compaction_bytes_total",
    "Bytes of the chunks the compactor compressed: raw before, and at rest after",
    ["kind"],
)
COMPACTION_CPU_SECONDS = Counter(
    "mreg_artifact_compaction_cpu_seconds_total",
    "CPU seconds spent compacting, off the request path",
)
COMPACTION_DROPPED = Counter(
    "mreg_artifact_compaction_dropped_total",
    "Blobs not queued for compaction because the backlog was full (a sweep compacts them)",
)
