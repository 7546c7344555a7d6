"""What a response is given: its `previous_response_id` chain or conversation, files, unsealed reasoning."""
