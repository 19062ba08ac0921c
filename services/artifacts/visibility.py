"""Which blobs a caller may see: the rule for tokens limited to a model-name prefix.

A token without a prefix (and the registry's own services, and everyone when auth is off)
sees every blob. A token limited to a prefix sees a blob only when

* a version within its prefix pins it (pins are held by version resource names,
  ``models/{model}/versions/{version}``), or pins a tree that lists it; or
* the same principal committed it (``UploadBlob`` finish, ``CommitBlob``, ``CommitTree``),
  which is how an upload is read back before it is registered.

Any other blob answers NOT_FOUND with the message an absent blob gets, so guessing the
digest of another prefix's file never confirms that it exists.

A file small enough to be one chunk has a chunk digest equal to its blob digest, so the
dedup path could confirm (``FindMissingChunks``) or claim (``CommitBlob``) it by digest
alone. For a prefix-limited caller such a chunk is therefore reported missing until the
caller sends its bytes, which proves it holds the file and makes it an owner.
"""

from __future__ import annotations

from mreg.chunkids import SHA256, algorithm_of
from services.artifacts.index.pins import PinIndex
from services.artifacts.store import Records, blob_key
from services.common.auth import Identity
from services.common.errors import NotFound


def not_found(sha: str) -> NotFound:
    """The NOT_FOUND of a blob that is absent or that the caller may not see."""
    return NotFound(f"no blob has digest {sha}", metadata={"digest": sha})


def holder_in_prefix(holder: str, prefix: str) -> bool:
    """Whether a pin holder is a version of a model whose name starts with ``prefix``."""
    parts = holder.split("/")
    return len(parts) >= 2 and parts[0] == "models" and parts[1].startswith(prefix)


class Visibility:
    """Answers "may this caller see blob X?" from pins, tree membership and owners.

    The pin part is one indexed query (:meth:`PinIndex.any_within`) over the blob and the
    trees listing it, however many versions pin them.
    """

    def __init__(self, records: Records, pins: PinIndex) -> None:
        self.records = records
        self.pins = pins

    def may_see(self, identity: Identity, sha: str) -> bool:
        """Whether ``identity`` may read or describe blob ``sha`` (see the module rule)."""
        prefix = identity.model_prefix
        if not prefix:
            return True
        if identity.principal in self.records.owners(sha):
            return True
        if self.pins.any_within([sha], prefix):
            return True
        return self.pins.any_within(list(self.records.trees_listing(sha)), prefix)

    def require(self, identity: Identity, sha: str) -> None:
        """NOT_FOUND unless ``identity`` may see blob ``sha``."""
        if not self.may_see(identity, sha):
            raise not_found(sha)

    def hidden_blobs(self, identity: Identity, chunk_shas: list[str]) -> set[str]:
        """Of these chunk digests, those that are also the digest of a stored blob
        ``identity`` may not see (one-chunk files of others); empty for unlimited callers."""
        if not identity.model_prefix or not chunk_shas:
            return set()
        # Only a SHA-256 chunk id can equal a blob digest: a BLAKE3 id is no blob's name, and
        # only a holder of the bytes can compute it.
        distinct = [sha for sha in dict.fromkeys(chunk_shas) if algorithm_of(sha) == SHA256]
        infos = self.records.backend.stat([blob_key(sha) for sha in distinct])
        return {
            sha
            for sha, info in zip(distinct, infos, strict=True)
            if info is not None and not self.may_see(identity, sha)
        }

    def claim_sent(self, identity: Identity, chunk_shas: list[str]) -> None:
        """A prefix-limited caller sent these chunks' bytes: where a chunk is a whole blob
        (a one-chunk file), the caller holds that file and becomes an owner of it."""
        if not identity.model_prefix or not chunk_shas:
            return
        distinct = [sha for sha in dict.fromkeys(chunk_shas) if algorithm_of(sha) == SHA256]
        infos = self.records.backend.stat([blob_key(sha) for sha in distinct])
        for sha, info in zip(distinct, infos, strict=True):
            if info is not None:
                self.records.add_owner(sha, identity.principal)
