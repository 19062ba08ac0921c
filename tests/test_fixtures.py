"""The shared fixtures reach real services: PostgreSQL over TCP and moto's S3 over HTTP."""

from __future__ import annotations

import boto3
from sqlalchemy import create_engine, text


def test_postgres_fixture_gives_a_fresh_empty_database(postgres_url: str) -> None:
    engine = create_engine(postgres_url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT current_database()")).scalar_one().startswith("mreg_test_")
        tables = conn.execute(
            text("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'")
        ).scalar_one()
    engine.dispose()
    assert tables == 0


def test_s3_fixture_serves_a_real_bucket_over_http(s3_endpoint: str, s3_bucket: str) -> None:
    assert s3_endpoint.startswith("http://127.0.0.1:")
    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")
    client.put_object(Bucket=s3_bucket, Key="k", Body=b"bytes")
    assert client.get_object(Bucket=s3_bucket, Key="k")["Body"].read() == b"bytes"
