"""The OpenAI REST surface behind Envoy (`OpenAIHttpService`, HttpBody in and out): servicer.py, and the
routes of each API in a module of its own (conversations, files, vector stores, prompts, input tokens,
compact), with the replies they share (replies.py)."""
