"""The registry's gRPC services: artifacts, metadata and the gateway, and their shared code."""
