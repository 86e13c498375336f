"""Stored Responses API state: responses kept per team for ``previous_response_id``,
retrieval, deletion and their input items."""
