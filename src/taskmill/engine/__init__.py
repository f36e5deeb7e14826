"""The engine: runs pipelines (scheduling, caching, retries, launching steps) over the store."""
