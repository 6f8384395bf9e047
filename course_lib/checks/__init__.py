"""Public self-check tests, one module per lesson (lesson01.py, ...). Imported by course_lib.check."""
