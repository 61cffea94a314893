"""Text that no field of the project accepts: the NUL character (U+0000).

PostgreSQL cannot hold it in text or jsonb and refuses a statement that merely compares with it
(a lookup by a name holding one fails instead of finding nothing), while SQLite stores it. So
every place where client text reaches the database refuses it first, through `holds_nul`, and
the answer is the same 400 (or wrong-credential answer) on both databases.
"""

NUL = "\x00"


def holds_nul(value) -> bool:
    """Whether `value` holds U+0000: a string, or the strings of JSON-like data (lists, tuples
    and dicts, keys included) at any depth. Other values (numbers, None) hold none."""
    if isinstance(value, str):
        return NUL in value
    if isinstance(value, dict):
        return any(holds_nul(key) or holds_nul(item) for key, item in value.items())
    if isinstance(value, list | tuple):
        return any(holds_nul(item) for item in value)
    return False
