"""Reading an MLflow tracking server (2.x or 3.x) through MLflow's own client library.

MLflow's ``MlflowClient`` lists registered models and versions, reads runs, and
downloads a version's artifacts (``mlflow.artifacts.download_artifacts``, through the
server's artifact proxy or straight from the store the server names). It is an optional
dependency: ``pip install 'modelregistry-client[mlflow]'`` installs ``mlflow-skinny``.

Before any of that, :meth:`MlflowSource.probe` asks the server once, with a short
timeout and no retries, whether it is an MLflow server at all, so a wrong URL fails in
seconds with one line instead of after MLflow's minutes of retries.
"""

from __future__ import annotations

import importlib.util
import os
import re
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

#: Retries and timeout MLflow's client uses for each HTTP request, unless set already.
_HTTP_DEFAULTS = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2", "MLFLOW_HTTP_REQUEST_TIMEOUT": "60"}
_PAGE = 1000


class SourceError(Exception):
    """MLflow could not be read; the message is one line a person can act on."""


@dataclass
class SourceVersion:
    """One MLflow model version with what its run recorded."""

    number: int
    description: str
    tags: dict[str, str]
    stage: str
    source: str
    run_id: str
    status: str
    logged_model_id: str = ""
    aliases: list[str] = field(default_factory=list)
    metrics: dict[str, float] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    experiment_id: str = ""
    datasets: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class SourceModel:
    """One MLflow registered model and its versions, oldest first."""

    name: str
    description: str
    tags: dict[str, str]
    aliases: dict[str, int]
    versions: list[SourceVersion]


_NEEDS_MLFLOW = (
    "reading MLflow needs its client library: pip install 'modelregistry-client[mlflow]'"
)


def _mlflow() -> Any:
    try:
        import mlflow
        import mlflow.artifacts
    except ImportError:
        raise SourceError(_NEEDS_MLFLOW) from None
    return mlflow


class MlflowSource:
    """An MLflow tracking server at ``tracking_uri`` (``http://host:5000``)."""

    def __init__(self, tracking_uri: str, *, timeout: float = 10.0, bars: bool = True) -> None:
        parts = urlsplit(tracking_uri)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise SourceError(
                f"--tracking-uri: expected the http(s):// URL of an MLflow server, "
                f"got {tracking_uri!r}"
            )
        self.uri = tracking_uri.rstrip("/")
        self.timeout = timeout
        for name, value in _HTTP_DEFAULTS.items():
            os.environ.setdefault(name, value)
        # MLflow's own download bar, shown like ours: on a terminal, not with --json.
        shown = bars and sys.stderr.isatty()
        os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", str(shown).lower())
        self._client: Any = None

    # ------------------------------------------------------------------ connection

    def probe(self) -> str:
        """The server's MLflow version; :class:`SourceError` if it is not an MLflow
        server or cannot be reached."""
        if importlib.util.find_spec("mlflow") is None:  # requests comes with it
            raise SourceError(_NEEDS_MLFLOW)
        import requests

        search = f"{self.uri}/api/2.0/mlflow/registered-models/search"
        try:
            answer = requests.get(
                search, params={"max_results": 1}, timeout=self.timeout, **_auth()
            )
        except requests.Timeout:
            raise SourceError(
                f"cannot reach MLflow at {self.uri}: no answer in {self.timeout:g} s"
            ) from None
        except requests.RequestException as error:
            found = re.search(r"\[Errno -?\d+\] ([^'\")]+)", str(error))
            reason = found.group(1).strip() if found else type(error).__name__
            raise SourceError(f"cannot reach MLflow at {self.uri}: {reason}") from None
        if answer.status_code in (401, 403):
            raise SourceError(
                f"MLflow at {self.uri} refused the request (HTTP {answer.status_code}); "
                "set MLFLOW_TRACKING_TOKEN or MLFLOW_TRACKING_USERNAME/PASSWORD"
            )
        try:
            body = answer.json() if answer.ok else None
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise SourceError(
                f"{self.uri} is not an MLflow tracking server: its model registry API "
                f"answered HTTP {answer.status_code}, not MLflow's JSON"
            )
        try:
            version = requests.get(f"{self.uri}/version", timeout=self.timeout, **_auth())
            return version.text.strip() if version.ok and len(version.text) < 40 else "unknown"
        except requests.RequestException:
            return "unknown"

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = _mlflow().MlflowClient(tracking_uri=self.uri, registry_uri=self.uri)
        return self._client

    def _call(self, what: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except Exception as error:  # MlflowException, requests' errors, OSError
            raise SourceError(f"MLflow at {self.uri}: {what}: {_message(error)}") from None

    # ------------------------------------------------------------------ reads

    def model_names(self) -> list[str]:
        """Every registered model's name, sorted."""
        names: list[str] = []
        token = None
        while True:
            page = self._call(
                "listing models",
                self.client.search_registered_models,
                max_results=_PAGE,
                page_token=token,
            )
            names += [m.name for m in page]
            token = page.token
            if not token:
                return sorted(names)

    def model(self, name: str) -> SourceModel:
        """A registered model with its versions (oldest first) and their runs."""
        try:
            found = self.client.get_registered_model(name)
        except Exception as error:
            if getattr(error, "error_code", "") == "RESOURCE_DOES_NOT_EXIST":
                missing = f"MLflow at {self.uri} has no registered model {name!r}"
                raise SourceError(missing) from None
            raise SourceError(
                f"MLflow at {self.uri}: reading model {name!r}: {_message(error)}"
            ) from None
        aliases = {a: int(v) for a, v in (found.aliases or {}).items()}
        versions = [self._version(v, aliases) for v in self._versions(name)]
        return SourceModel(
            name=found.name,
            description=found.description or "",
            tags=dict(found.tags or {}),
            aliases=aliases,
            versions=sorted(versions, key=lambda v: v.number),
        )

    def _versions(self, name: str) -> Iterator[Any]:
        token = None
        quoted = name.replace("'", "\\'")
        while True:
            page = self._call(
                f"listing versions of {name!r}",
                self.client.search_model_versions,
                filter_string=f"name = '{quoted}'",
                max_results=_PAGE,
                page_token=token,
            )
            yield from page
            token = page.token
            if not token:
                return

    def _version(self, v: Any, aliases: dict[str, int]) -> SourceVersion:
        version = SourceVersion(
            number=int(v.version),
            description=v.description or "",
            tags=dict(v.tags or {}),
            stage=v.current_stage or "None",
            source=v.source or "",
            run_id=v.run_id or "",
            status=v.status or "READY",
            logged_model_id=getattr(v, "model_id", None) or _logged_model_of(v.source or ""),
            aliases=sorted(a for a, n in aliases.items() if n == int(v.version)),
        )
        if version.run_id:
            self._add_run(version)
        return version

    def _add_run(self, version: SourceVersion) -> None:
        try:
            run = self.client.get_run(version.run_id)
        except Exception as error:
            version.notes.append(f"run {version.run_id} not read ({_message(error)}): no metrics")
            return
        version.metrics = dict(run.data.metrics or {})
        version.params = dict(run.data.params or {})
        version.experiment_id = run.info.experiment_id or ""
        inputs = getattr(run, "inputs", None)
        for item in getattr(inputs, "dataset_inputs", None) or []:
            dataset = item.dataset
            version.datasets.append(f"{dataset.name}@{dataset.digest}")

    # ------------------------------------------------------------------ bytes

    def download(self, model: str, version: SourceVersion, dest: Path) -> Path:
        """Download a version's artifacts into ``dest``; returns the file or directory.

        :class:`SourceError` when MLflow has no files for it (deleted from the store).
        """
        mlflow = _mlflow()
        uri = self._call(
            f"locating the artifacts of {model!r} version {version.number}",
            self.client.get_model_version_download_uri,
            model,
            str(version.number),
        )
        missing = f"MLflow has no files for {model!r} version {version.number} ({uri})"
        try:
            path = mlflow.artifacts.download_artifacts(
                artifact_uri=uri, dst_path=str(dest), tracking_uri=self.uri
            )
        except Exception as error:
            text = getattr(error, "message", None) or str(error)
            if "RESOURCE_DOES_NOT_EXIST" in text or "404 Client Error" in text:
                raise SourceError(f"{missing}: its artifact store answered 404") from None
            if self._absent(uri):
                # MLflow 2's artifact proxy answers 500, not 404, for a path it lacks.
                absent = f"{missing}: its artifact store has nothing at that path"
                raise SourceError(absent) from None
            raise SourceError(f"{missing}: downloading failed: {_message(error)}") from None
        result = Path(path)
        if not result.exists() or (result.is_dir() and not any(_files(result))):
            raise SourceError(missing)
        return result

    def _absent(self, uri: str) -> bool:
        """Whether the artifact store lists the parent of ``uri`` without its last part;
        False when that cannot be told (no parent, or listing it fails too)."""
        parent, _, name = uri.rstrip("/").rpartition("/")
        if not name or not parent:
            return False
        try:
            listed = _mlflow().artifacts.list_artifacts(artifact_uri=parent, tracking_uri=self.uri)
        except Exception:
            return False
        return all(PurePosixPath(entry.path).name != name for entry in listed or [])


def _logged_model_of(source: str) -> str:
    """``models:/m-0f1e...`` (an MLflow 3 logged model) -> ``m-0f1e...``; else empty."""
    rest = source.removeprefix("models:/")
    return rest if rest != source and rest.startswith("m-") and "/" not in rest else ""


def _auth() -> dict[str, Any]:
    """The credentials MLflow's client would send, from MLflow's own variables."""
    token = os.environ.get("MLFLOW_TRACKING_TOKEN")
    if token:
        return {"headers": {"Authorization": f"Bearer {token}"}}
    user = os.environ.get("MLFLOW_TRACKING_USERNAME")
    if user:
        return {"auth": (user, os.environ.get("MLFLOW_TRACKING_PASSWORD", ""))}
    return {}


def _message(error: Exception) -> str:
    """An MLflow error in one short line: its first line (MLflow's download errors run to
    pages)."""
    text = getattr(error, "message", None) or str(error) or type(error).__name__
    first = next((line.strip() for line in text.splitlines() if line.strip()), text)
    return first if len(first) <= 300 else f"{first[:297]}..."


def _files(path: Path) -> Sequence[Path]:
    return [p for p in path.rglob("*") if p.is_file()]
