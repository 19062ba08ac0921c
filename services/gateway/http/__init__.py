"""The gateway's HTTP listener: the OCI pull API under ``/v2/``; more routes mount beside it."""
