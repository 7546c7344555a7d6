"""Text embeddings: the `Embedder` contract (base.py) and its implementations (an upstream's
`/v1/embeddings`, and an embedded default that needs no upstream)."""
