"""Seal for SDK users: encrypt-then-store and read-then-decrypt with t of m key servers.

Key servers are named by the user, never "everyone registered": registry ids the
deployment trusts (:meth:`SealClient.from_deployment`, the deployment file's ``"seal"``
section), registry ids the user picks (:meth:`SealClient.from_registry`; URL and X25519
public key come from the chain's ``KeyServerRegistry``), or URLs the user gives. The registry
is permissionless: encrypting to every active entry would hand t shares of every blob to
whoever registers t entries (docs/seal.md, trust model). Storing: each
server's ``/v1/seal/info`` is fetched (checked to serve this chain, and for a registered
server to answer its registered key, else :class:`KeyServerKeyMismatch`), so the content is
always encrypted to the registered keys; with plain URLs the key the URL answers is trusted.
The content is encrypted by ``backend.core.seal`` and the header + ciphertext is stored as an
ordinary blob. Reading: the blob is read; if it is sealed, a fresh session
X25519 key is authorised by the wallet (EIP-712, 10 minutes) and the configured key servers
named in the header are asked in parallel until t shares are back. Every failure is a named
error; no plaintext is returned unless the whole ciphertext authenticates.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from concurrent import futures
from dataclasses import dataclass
from typing import Any, Final

import requests
from eth_account.signers.local import LocalAccount
from web3 import Web3

from backend.chain.compiler import Artifacts
from backend.chain.deployment import Deployment
from backend.chain.errors import ContractRevert
from backend.chain.keyserver_registry import CONTRACT_NAME as REGISTRY_NAME
from backend.chain.keyserver_registry import KeyServerRegistryContract
from backend.chain.seal_session import sign_session
from backend.core.routes import KEYSERVER_INFO, KEYSERVER_SHARE
from backend.core.seal.envelope import X25519KeyPair, decrypt_blob, encrypt_blob, open_response
from backend.core.seal.errors import SealError
from backend.core.seal.header import SealHeader, is_sealed, parse_header
from backend.core.seal.shamir import Share
from backend.sdk.client import Client, StoreResult
from backend.sdk.errors import SdkError

SESSION_SECONDS: Final = 600
DEFAULT_THRESHOLD: Final = 2
KEYSERVER_TIMEOUT: Final = 10.0


class KeyServerUnavailable(SdkError):
    """A key server did not answer /v1/seal/info, or serves another chain."""


class KeyServerKeyMismatch(KeyServerUnavailable):
    """A registered key server's URL answers another public key than the one registered on
    chain: it is not used (misconfigured, or someone else answers at its URL)."""


class DuplicateKeyServer(SdkError):
    """Two of the key servers have the same public key: one server would hold two shares and
    could decrypt alone."""


class NoKeyServers(SdkError):
    """No key server to use: none named (no URLs, no ids, no trust list in the deployment),
    a named one deregistered, or the deployment has no KeyServerRegistry."""


class WrongKeyServerSet(SdkError):
    """Fewer than t of the configured key servers hold a share of this blob."""


class NotEnoughKeyShares(SdkError):
    """Fewer than t key servers released their share; the message says why each refused."""


class NotSealed(SdkError):
    """The blob is not Seal-encrypted (no WSEL header)."""


@dataclass(frozen=True)
class KeyServer:
    """A key server's URL and X25519 public key; as a configured server (an element of
    ``SealClient``'s servers), the key it must answer, as registered on chain."""

    url: str
    public_key: bytes
    name: str = ""


def key_server_info(
    url: str,
    chain_id: int,
    timeout: float = KEYSERVER_TIMEOUT,
    *,
    registered: KeyServer | None = None,
) -> KeyServer:
    """The key server at ``url`` and its public key; KeyServerUnavailable if it is down or
    serves another chain, KeyServerKeyMismatch if ``registered`` has another key."""
    try:
        answer = requests.get(url.rstrip("/") + KEYSERVER_INFO, timeout=timeout)
        answer.raise_for_status()
        body = answer.json()
        public_key = bytes.fromhex(str(body["public_key"]))
        served = int(body["chain_id"])
    except (requests.RequestException, ValueError, KeyError, TypeError) as error:
        raise KeyServerUnavailable(f"key server {url} did not answer: {error}") from None
    if served != chain_id or len(public_key) != 32:
        raise KeyServerUnavailable(f"key server {url} serves chain {served}, not {chain_id}")
    if registered is not None and public_key != registered.public_key:
        raise KeyServerKeyMismatch(
            f"KeyServerKeyMismatch: key server {registered.name or url} at {url} answers "
            f"public key {public_key.hex()}, but {registered.public_key.hex()} is registered "
            "on chain: refused (its operator must fix the server or its registered URL)"
        )
    return KeyServer(url.rstrip("/"), public_key, registered.name if registered else "")


KEY_SERVERS_ENV: Final = "WALRUS_KEY_SERVERS"
"""Comma-separated key server URLs a user (or a backend operator) trusts, over the deployment's."""


def key_server_urls_from_env() -> list[str]:
    """The URLs in $WALRUS_KEY_SERVERS (empty when unset)."""
    from_env = os.environ.get(KEY_SERVERS_ENV, "")
    return [url.strip().rstrip("/") for url in from_env.split(",") if url.strip()]


NO_TRUSTED_KEY_SERVERS: Final = (
    "see the registered ones with `walrus keyserver list`, then pass --key-server-id ID "
    "(repeat) or record the ids you trust in the deployment file (walrus keyserver trust ID...)"
)


def registered_key_servers(
    registry: KeyServerRegistryContract, ids: Sequence[int]
) -> list[KeyServer]:
    """Registry entries ``ids`` (URL, registered key, name), in that order; NoKeyServers if
    ``ids`` is empty (the registry is permissionless: its entries are not a trust list; for
    display, list them with ``registry.all()``) or one is deregistered; an unknown id
    reverts KeyServerRegistryUnknownKeyServer."""
    if not ids:
        raise NoKeyServers(f"no key server ids given: {NO_TRUSTED_KEY_SERVERS}")
    entries = [registry.key_server(key_server_id) for key_server_id in dict.fromkeys(ids)]
    for entry in entries:
        if not entry.active:
            raise NoKeyServers(f"key server {entry.id} ({entry.name}) is deregistered")
    return [KeyServer(entry.url.rstrip("/"), entry.public_key, entry.name) for entry in entries]


def key_server_registry(
    client: Client, deployment: Deployment, artifacts: Artifacts
) -> KeyServerRegistryContract | None:
    """The deployment's KeyServerRegistry as seen by ``client``'s account (None when the
    deployment predates it)."""
    address = deployment.contracts.get(REGISTRY_NAME)
    if address is None:
        return None
    return KeyServerRegistryContract.at(client.chain, address, artifacts)


def seal(
    data: bytes,
    *,
    chain_id: int,
    policy: str,
    identity: bytes,
    key_servers: Sequence[KeyServer],
    threshold: int = DEFAULT_THRESHOLD,
) -> bytes:
    """Header + ciphertext of ``data`` for ``policy``/``identity`` and ``key_servers``."""
    if len(identity) != 32:
        raise SdkError(f"Seal id must be 32 bytes (64 hex digits), got {len(identity)}")
    if not Web3.is_address(policy):
        raise SdkError(f"policy {policy!r} is not an address")
    seen: dict[bytes, str] = {}
    for server in key_servers:
        if server.public_key in seen:
            raise DuplicateKeyServer(
                f"key servers {seen[server.public_key]} and {server.url} have the same public "
                f"key {server.public_key.hex()}: each share must go to a different server"
            )
        seen[server.public_key] = server.url
    return encrypt_blob(
        data,
        chain_id=chain_id,
        policy=bytes.fromhex(Web3.to_checksum_address(policy)[2:]),
        identity=identity,
        server_public_keys=[server.public_key for server in key_servers],
        threshold=threshold,
    )


def _ask_share(
    server: KeyServer,
    header: SealHeader,
    header_bytes: bytes,
    session_json: dict[str, Any],
    session_key: X25519KeyPair,
    timeout: float,
    http: requests.Session | None,
) -> Share:
    try:
        answer = (http or requests).post(
            server.url + KEYSERVER_SHARE,
            json={"header": header_bytes.hex(), "session": session_json},
            timeout=timeout,
        )
    except requests.RequestException as error:
        raise SdkError(f"{server.url}: unreachable ({type(error).__name__})") from None
    try:
        body = answer.json()
    except ValueError:
        body = {}
    if answer.status_code != 200:
        problem = body.get("error", {}) if isinstance(body, dict) else {}
        raise SdkError(
            f"{server.url}: {problem.get('code', answer.status_code)}: "
            f"{problem.get('message', answer.reason)}"
        )
    try:
        response = bytes.fromhex(str(body["response"]))
        return open_response(response, header, server.public_key, session_key)
    except (KeyError, TypeError, ValueError) as error:
        raise SdkError(f"{server.url}: bad answer ({error})") from None


def unseal(
    data: bytes | bytearray | memoryview,
    *,
    account: LocalAccount,
    chain_id: int,
    key_server_urls: Sequence[str | KeyServer],
    timeout: float = KEYSERVER_TIMEOUT,
    infos: Sequence[KeyServer | str] | None = None,
    http: requests.Session | None = None,
) -> bytes:
    """The plaintext of Seal blob ``data`` (version 1 or 2) for ``account``; MalformedSealHeader,
    WrongKeyServerSet, NotEnoughKeyShares (each server's reason) or SealTampered otherwise.
    ``key_server_urls``: URLs, or registered servers (whose answered key must match).
    ``infos``: the servers' /v1/seal/info answers (or why not) when already fetched;
    ``http``: a session whose kept-alive connections to the key servers are reused."""
    if not is_sealed(data):
        raise NotSealed("the blob is not Seal-encrypted (no WSEL header)")
    header = parse_header(data)
    header_bytes = bytes(data[: header.size])
    pool = futures.ThreadPoolExecutor(max(1, len(key_server_urls)), "walrus-seal-shares")
    try:
        if infos is None:
            infos = fetch_key_servers(key_server_urls, chain_id, timeout, pool)
        reasons = [info for info in infos if isinstance(info, str)]
        reachable = [info for info in infos if isinstance(info, KeyServer)]
        servers = [info for info in reachable if header.index_of(info.public_key) is not None]
        reasons += [f"{s.url} holds no share of this blob" for s in reachable if s not in servers]
        if len(servers) < header.threshold:
            counts = (
                f"the blob needs {header.threshold} of its {len(header.entries)} key servers; "
                f"{len(servers)} of the {len(key_server_urls)} configured ones are reachable "
                f"and hold a share ({'; '.join(reasons)})"
            )
            if len(reachable) == len(key_server_urls):
                raise WrongKeyServerSet(counts)
            raise NotEnoughKeyShares(counts)
        session_key = X25519KeyPair.generate()
        session = sign_session(
            account,
            Web3.to_checksum_address(header.policy),
            session_key.public_key,
            int(time.time()) + SESSION_SECONDS,
            chain_id,
        )
        asked = [
            pool.submit(
                _ask_share,
                server,
                header,
                header_bytes,
                session.to_json(),
                session_key,
                timeout,
                http,
            )
            for server in servers
        ]
        shares: list[Share] = []
        for future in futures.as_completed(asked):
            try:
                shares.append(future.result())
            except SdkError as error:
                reasons.append(str(error))
            if len(shares) >= header.threshold:
                break
    finally:  # the t fastest shares are enough: the read does not wait for the others
        pool.shutdown(wait=False, cancel_futures=True)
    if len(shares) < header.threshold:
        raise NotEnoughKeyShares(
            f"need {header.threshold} key shares, got {len(shares)}: " + "; ".join(reasons)
        )
    return decrypt_blob(data, shares)


def fetch_key_servers(
    servers: Sequence[str | KeyServer], chain_id: int, timeout: float, pool: futures.Executor
) -> list[KeyServer | str]:
    """Each server's /v1/seal/info, or the reason it is unusable, asked in parallel."""
    return [
        str(info) if isinstance(info, KeyServerUnavailable) else info
        for info in _fetch(servers, chain_id, timeout, pool)
    ]


def _fetch(
    servers: Sequence[str | KeyServer], chain_id: int, timeout: float, pool: futures.Executor
) -> list[KeyServer | KeyServerUnavailable]:
    return list(pool.map(lambda server: _info_or_error(server, chain_id, timeout), servers))


def _info_or_error(
    server: str | KeyServer, chain_id: int, timeout: float
) -> KeyServer | KeyServerUnavailable:
    try:
        if isinstance(server, KeyServer):
            return key_server_info(server.url, chain_id, timeout, registered=server)
        return key_server_info(server, chain_id, timeout)
    except KeyServerUnavailable as error:
        return error


def _url(server: str | KeyServer) -> str:
    return server.url if isinstance(server, KeyServer) else server.rstrip("/")


def _cache_key(server: str | KeyServer) -> tuple[str, bytes]:
    """A configured server's identity: its URL and, when registered, the key it must answer
    (two registry entries may name one URL; each is checked against its own key)."""
    return (_url(server), server.public_key if isinstance(server, KeyServer) else b"")


class SealClient:
    """A :class:`Client` that stores Seal-encrypted blobs and decrypts them on read.

    ``key_servers``: URLs (the key each answers is trusted) or registered servers
    (:class:`KeyServer`, e.g. from :meth:`from_registry`: a server answering another key
    than its registered one is refused with KeyServerKeyMismatch). ``threshold``: the t
    :meth:`seal` and :meth:`store` use when not given one."""

    def __init__(
        self,
        client: Client,
        key_servers: Sequence[str | KeyServer],
        *,
        timeout: float = KEYSERVER_TIMEOUT,
        threshold: int = DEFAULT_THRESHOLD,
    ) -> None:
        if not key_servers:
            raise NoKeyServers("no key servers configured (--key-server URL or WALRUS_KEY_SERVERS)")
        self.client = client
        self.threshold = threshold
        self.configured = list(key_servers)
        self.key_server_urls = [_url(server) for server in self.configured]
        self.timeout = timeout
        self._known: dict[tuple[str, bytes], KeyServer] = {}
        self._pool = futures.ThreadPoolExecutor(len(self.configured) + 1, "walrus-seal")
        self._http = requests.Session()  # kept-alive connections to the key servers

    @classmethod
    def from_registry(
        cls,
        client: Client,
        registry: KeyServerRegistryContract,
        *,
        ids: Sequence[int],
        timeout: float = KEYSERVER_TIMEOUT,
        threshold: int = DEFAULT_THRESHOLD,
    ) -> SealClient:
        """A client using registry entries ``ids`` (required: as Seal clients name the key
        server objects they trust; any active entry is not a trusted one), each held to its
        registered key; NoKeyServers when ``ids`` is empty or names a deregistered entry.
        The registry is read once (and each server's key checked once)."""
        servers = registered_key_servers(registry, ids)
        return cls(client, servers, timeout=timeout, threshold=threshold)

    @classmethod
    def from_deployment(
        cls,
        client: Client,
        deployment: Deployment,
        artifacts: Artifacts,
        *,
        timeout: float = KEYSERVER_TIMEOUT,
    ) -> SealClient:
        """A client using the key servers ``deployment`` trusts (its ``"seal"`` section: ids
        and threshold), the default of the CLI and the web page; NoKeyServers when the
        deployment names none or has no KeyServerRegistry."""
        trust = deployment.seal
        if trust is None:
            raise NoKeyServers(
                f"the deployment for chain {deployment.chain_id} trusts no key servers: "
                + NO_TRUSTED_KEY_SERVERS
            )
        registry = key_server_registry(client, deployment, artifacts)
        if registry is None:
            raise NoKeyServers(
                "the deployment names trusted key server ids but no KeyServerRegistry; redeploy"
            )
        try:
            return cls.from_registry(
                client,
                registry,
                ids=trust.key_server_ids,
                timeout=timeout,
                threshold=trust.threshold,
            )
        except (ContractRevert, NoKeyServers) as error:  # unknown or deregistered id
            raise NoKeyServers(
                f"the deployment's trusted key servers: {error} (update its list: walrus "
                "keyserver trust ID...)"
            ) from None

    def key_servers(self) -> list[KeyServer | str]:
        """The configured key servers (public keys cached once seen), or why each is not
        usable."""
        return [
            str(info) if isinstance(info, KeyServerUnavailable) else info
            for info in self._resolve()
        ]

    def _resolve(self) -> list[KeyServer | KeyServerUnavailable]:
        missing = [server for server in self.configured if _cache_key(server) not in self._known]
        fetched = dict(
            zip(
                [_cache_key(server) for server in missing],
                _fetch(missing, self.chain_id, self.timeout, self._pool),
                strict=True,
            )
        )
        for key, info in fetched.items():
            if isinstance(info, KeyServer):
                self._known[key] = info
        return [self._known.get(key) or fetched[key] for key in map(_cache_key, self.configured)]

    @property
    def chain_id(self) -> int:
        return self.client.chain.chain_id

    def seal(
        self, data: bytes, *, policy: str, identity: bytes, threshold: int | None = None
    ) -> bytes:
        """``data`` encrypted to every configured key server; any ``threshold`` (default:
        the client's) of them together can release the data key."""
        servers = []
        for info in self._resolve():
            if isinstance(info, KeyServerUnavailable):
                raise info
            servers.append(info)
        return seal(
            data,
            chain_id=self.chain_id,
            policy=policy,
            identity=identity,
            key_servers=servers,
            threshold=self.threshold if threshold is None else threshold,
        )

    def store(
        self,
        data: bytes,
        *,
        policy: str,
        identity: bytes,
        threshold: int | None = None,
        epochs: int = 1,
        deletable: bool = False,
    ) -> StoreResult:
        """Encrypts ``data`` (see :meth:`seal`) and stores the result as an ordinary blob."""
        sealed = self.seal(data, policy=policy, identity=identity, threshold=threshold)
        return self.client.store(sealed, epochs=epochs, deletable=deletable)

    def decrypt(
        self, data: bytes | bytearray | memoryview, infos: Sequence[KeyServer | str] | None = None
    ) -> bytes:
        account = self.client.chain.account
        if account is None:
            raise SdkError("decrypting needs a wallet (a private key) to sign the session")
        return unseal(
            data,
            account=account,
            chain_id=self.chain_id,
            key_server_urls=self.configured,
            timeout=self.timeout,
            infos=self.key_servers() if infos is None else infos,
            http=self._http,
        )

    def read(self, blob_id: Any) -> bytes:
        """Reads the blob and decrypts it (NotSealed if it is not a Seal blob); the key
        servers are looked up while the blob is read, and the plaintext is decrypted in
        place from the blob's bytes (no copy of the ciphertext)."""
        infos = self._pool.submit(self.key_servers)
        data = self.client.read(blob_id)
        return self.decrypt(data, infos.result())


__all__ = [
    "DuplicateKeyServer",
    "KeyServer",
    "KeyServerKeyMismatch",
    "KeyServerUnavailable",
    "NoKeyServers",
    "NotEnoughKeyShares",
    "NotSealed",
    "SealClient",
    "SealError",
    "WrongKeyServerSet",
    "key_server_info",
    "key_server_registry",
    "registered_key_servers",
    "seal",
    "unseal",
]
