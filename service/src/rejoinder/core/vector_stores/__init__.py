"""OpenAI's Vector stores API: stores (stores.py), files in them and file batches (files.py), search
(search.py, which the file_search tool calls too) and background ingestion (ingestion.py), over the
metadata store (store/vector_stores/), the vector index (vectors/), text extraction (extract/) and
embeddings (embeddings/). checks.py holds every 400; objects.py makes OpenAI's objects."""
