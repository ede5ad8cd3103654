"""The node answers its storage challenges (contracts/src/StorageChallenges.sol).

A thread polls the contract every second for this node's challenge in the current epoch;
when one is open, it reads the challenged sliver from the store, checks it against the
stored metadata, builds the answer (symbol of the expanded sliver + Merkle proofs) and sends
`respond` from the operator account. A sliver the node does not hold cannot be answered: the
challenge fails at its deadline (the recovery sweep may restore the sliver before then).
Counters `answered` / `unanswerable` go to the node's log and the dashboard.
"""

from __future__ import annotations

import logging
import threading

from backend.chain.challenges import (
    CONTRACT_NAME,
    Challenge,
    StorageChallengesContract,
    build_answer,
)
from backend.chain.compiler import compile_contracts
from backend.chain.errors import ChainError, ContractRevert
from backend.core.blob_id import BlobId
from backend.core.errors import CoreError
from backend.core.metadata import UnverifiedMetadata, verify_metadata
from backend.core.slivers import UnverifiedSliver, VerifiedSliver, verify_sliver
from nodes.chain_view import ChainView
from nodes.store import NodeStore

POLL_SECONDS = 1.0

log = logging.getLogger("walrus-node.challenges")


class SliverUnavailable(Exception):
    """The challenged sliver (or the blob's metadata) is not in this node's store."""


class ChallengeResponder:
    def __init__(
        self,
        store: NodeStore,
        chain: ChainView,
        contract: StorageChallengesContract,
        poll_seconds: float = POLL_SECONDS,
    ) -> None:
        self.store = store
        self.chain = chain
        self.contract = contract
        self.poll_seconds = poll_seconds
        self.answered = 0
        self.unanswerable = 0
        self._stop = threading.Event()
        self._reported: set[int] = set()
        self._thread = threading.Thread(target=self._run, name="challenges", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.wait(self.poll_seconds):
            try:
                self.answer_open_challenge()
            except ChainError as error:  # the chain is briefly unreachable: try again
                log.warning("challenge check failed: %s", error)

    def answer_open_challenge(self) -> bool:
        """Answer this epoch's challenge if one is open; True when an answer was accepted."""
        epoch = self.chain.current_epoch()
        challenge = self.contract.challenge_of(epoch, self.chain.node_id)
        if challenge is None or challenge.answered:
            return False
        try:
            answer = build_answer(self._challenged_sliver(challenge), challenge.symbol_index)
        except SliverUnavailable as error:
            if epoch not in self._reported:
                self._reported.add(epoch)
                self.unanswerable += 1
                log.warning("cannot answer the challenge of epoch %d: %s", epoch, error)
            return False
        try:
            self.contract.respond(epoch, self.chain.node_id, answer)
        except ContractRevert as error:
            if error.name == "StorageChallengesAlreadyAnswered":
                return False
            log.warning("challenge answer of epoch %d refused: %s", epoch, error)
            return False
        self.answered += 1
        log.info("answered the storage challenge of epoch %d", epoch)
        return True

    def _challenged_sliver(self, challenge: Challenge) -> VerifiedSliver:
        blob_id = BlobId(challenge.blob_id)
        raw = self.store.metadata(blob_id)
        data = self.store.sliver(blob_id, challenge.kind, challenge.sliver_index)
        if raw is None or data is None:
            raise SliverUnavailable(
                f"{challenge.kind.name.lower()} sliver {challenge.sliver_index} of blob "
                f"{blob_id} is not stored"
            )
        try:
            metadata = verify_metadata(blob_id, UnverifiedMetadata.from_bytes(raw))
            return verify_sliver(
                metadata, UnverifiedSliver(challenge.kind, challenge.sliver_index, data)
            )
        except CoreError as error:
            raise SliverUnavailable(f"stored data of blob {blob_id} is corrupt: {error}") from None


def start_responder(store: NodeStore, chain: ChainView, address: str) -> ChallengeResponder:
    """A running responder for the StorageChallenges contract at `address`."""
    abi = compile_contracts().abi(CONTRACT_NAME)
    contract = StorageChallengesContract.at(chain.client, address, abi)
    responder = ChallengeResponder(store, chain, contract)
    responder.start()
    return responder
