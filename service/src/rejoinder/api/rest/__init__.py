"""The OpenAI REST surface behind Envoy (`OpenAIHttpService`, HttpBody in and out): servicer.py, and the
routes of each API in a module of its own (conversations, files, vector stores, prompts, the context routes:
input tokens and compact), with the replies and body reading they share (replies.py)."""
