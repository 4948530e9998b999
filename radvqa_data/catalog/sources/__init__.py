"""One small reader per source kind. Each exposes `read(root, *, source, assets) -> SourceData`."""
