"""drf-spectacular postprocessing hooks: the served schema shaped so that clients generated from it
work, without changing what travels on the wire.

openapi-python-client (0.29) is the generator users reach for first, and two of its bugs broke
the client it made from our schema (issue #17):

- A request body documented under several media types becomes a union argument whose type names
  `Unset`, which the module imports only when some other argument is optional: the Building X
  token module failed on import (`NameError: Unset`). Its branches also pick the media type by the
  argument's Python class, so one schema under two media types gives two identical branches and
  the last one always wins.
- A model's `from_dict` keeps the incoming object in a local `d` and pops each property into a
  local named after it, so a property called `d` (the EMS gateway's history delta) replaces the
  object before the properties after it are read: every EMS history operation failed.

The server's parsers and renderers are untouched; only what the schema says about them changes.
"""

# The name of the local holding the incoming object in the generator's `from_dict`.
GENERATOR_LOCAL = "d"


def single_request_media_type(result: dict, **kwargs) -> dict:
    """Document each request body under one media type, the first one (the dialect's own: the
    views list their parsers in that order); the other accepted media types are named in the
    operation's description instead, so no reader loses them."""
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            content = operation.get("requestBody", {}).get("content", {})
            if len(content) < 2:
                continue
            first, *others = content
            operation["requestBody"]["content"] = {first: content[first]}
            also = ", ".join(f"`{media_type}`" for media_type in others)
            sentence = f"The body is also accepted as {also}, with the same content."
            description = operation.get("description", "")
            operation["description"] = f"{description}\n\n{sentence}" if description else sentence
    return result


def generator_local_last(result: dict, **kwargs) -> dict:
    """Move a property named like the generator's local (`d`) to the end of its object, so it is
    popped last, and close the object (`additionalProperties: false`, what the server sends
    anyway), so the leftover local is not taken for the additional properties. Only where the
    property then comes last in the generator's order too (required properties before optional
    ones); elsewhere the object is left as it is."""
    for schema in result.get("components", {}).get("schemas", {}).values():
        properties = schema.get("properties", {})
        if GENERATOR_LOCAL not in properties:
            continue
        required = set(schema.get("required", ()))
        optional = [name for name in properties if name not in required]
        if GENERATOR_LOCAL in required and optional:
            continue
        reordered = {name: value for name, value in properties.items() if name != GENERATOR_LOCAL}
        reordered[GENERATOR_LOCAL] = properties[GENERATOR_LOCAL]
        schema["properties"] = reordered
        schema["additionalProperties"] = False
    return result
