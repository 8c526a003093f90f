"""Date formats that differ from Django's for our languages (settings.FORMAT_MODULE_PATH)."""
