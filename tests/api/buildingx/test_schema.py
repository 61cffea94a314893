import pytest
import yaml

VALUES = "/ingest/partitions/{partitionId}/points/{pointId}/values"


@pytest.mark.django_db
def test_the_openapi_schema_documents_the_building_x_paths_media_types_and_errors(client):
    response = client.get("/api/schema/")

    assert response.status_code == 200
    schema = yaml.safe_load(response.content)
    assert schema["components"]["securitySchemes"]["buildingxBearer"]["scheme"] == "bearer"
    token = schema["paths"]["/oauth/token"]["post"]
    assert "security" not in token
    # One media type per body (generated clients; apps/api/common/schema_hooks.py), the others named.
    assert list(token["requestBody"]["content"]) == ["application/json"]
    assert token["description"].endswith(
        "The body is also accepted as `application/x-www-form-urlencoded`, with the same content."
    )
    assert set(token["responses"]) == {"200", "400", "401", "413", "415", "503"}
    post, get = schema["paths"][VALUES]["post"], schema["paths"][VALUES]["get"]
    assert post["security"] == [{"buildingxBearer": []}]
    assert list(post["requestBody"]["content"]) == ["application/vnd.api+json"]
    assert post["description"].endswith(
        "The body is also accepted as `application/json`, with the same content."
    )
    assert set(post["responses"]) == {"202", "204", "400", "401", "403", "404", "413", "415", "429", "503"}
    assert list(post["responses"]["400"]["content"]) == ["application/vnd.api+json"]
    assert set(get["responses"]) == {"200", "400", "401", "403", "404", "429", "503"}
    assert {p["name"] for p in get["parameters"]} == {
        "partitionId",
        "pointId",
        "filter[timestamp][gte]",
        "filter[timestamp][lt]",
        "page[limit]",
        "page[cursor]",
    }
    assert not any(path.startswith("/ingest/") and path != VALUES for path in schema["paths"])
