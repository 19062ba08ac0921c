"""OpenLineage in: run events posted by Airflow, Spark, dbt or any OpenLineage client
become lineage edges (:mod:`.events` reads them, :mod:`.mapping` is the convention,
:mod:`.endpoint` serves ``POST /api/v1/lineage``)."""

from services.gateway.http.openlineage.endpoint import LINEAGE_PATH, OpenLineageApi
from services.gateway.http.openlineage.mapping import MODEL_NAMESPACE

__all__ = ["LINEAGE_PATH", "MODEL_NAMESPACE", "OpenLineageApi"]
