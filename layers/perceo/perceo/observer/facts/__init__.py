"""Per-file facts — import specifiers, navigation targets, route-config trees — and their blob-SHA cache.

- `model`: `FileFacts` and which files have facts (`fact_kind`);
- `script`: the tree-sitter extractor for scripts, component files and bound template expressions;
- `markup`: the tag/attribute lexer for templates (Vue/Svelte, Angular `.html` and inline templates);
- `cache`: the SQLite cache keyed by `<kind>:<blob sha>`;
- `index`: facts for every file of a snapshot, from the cache or parsed (in a process pool when cold and large).

Facts depend on nothing but a file's bytes and its kind (extension family), so the cache key can never be stale
after a checkout, and the cache is safe to delete.
"""
