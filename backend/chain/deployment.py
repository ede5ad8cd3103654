"""Deploy the contracts in order and record them in deployments/<chain-id>.json.

Deployment is an ordered list of :data:`STEPS`; each step deploys one contract given what
was deployed before it (``context.deployed``) and returns its address. To add a contract,
write a ``_deploy_<name>`` function and append it to STEPS. ABIs are not stored in the
deployment file: they come from the compile cache, and the file records the ABI hash of
the sources it was deployed from, so a stale deployment is detected when loaded.

The last steps deploy WalrusTimelock and WalrusGovernor; then every Ownable contract the
deployer still owns is handed to the timelock (:func:`hand_ownership_to`), so parameter
setters change only through a passed proposal (docs/governance.md). Tests that need to
call setters directly deploy with ``DeployConfig(keep_deployer_owner=True)``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from eth_account.signers.local import LocalAccount
from eth_typing import ChecksumAddress
from web3 import Web3
from web3.contract import Contract

from backend.chain.challenges import DEFAULT_RESPONSE_WINDOW
from backend.chain.client import ChainClient
from backend.chain.compiler import REPO_ROOT, Artifacts
from backend.chain.errors import DeploymentError
from backend.chain.governance import DEVNET_GOVERNANCE, GovernanceParameters
from backend.chain.registry import RegistryParameters
from backend.chain.rewards import DEVNET_REWARDS, RewardsParameters
from backend.chain.seal_trust import SECTION as SEAL_SECTION
from backend.chain.seal_trust import SealTrust
from backend.chain.staking import StakingParameters

DEPLOYMENTS_DIR: Final = REPO_ROOT / "deployments"
FROST_PER_WAL: Final = 10**9
ALLOCATION_NAMES: Final = (
    "community_reserve",
    "user_drop",
    "subsidies",
    "contributors",
    "investors",
)
ZERO_ADDRESS: Final = Web3.to_checksum_address("0x" + "00" * 20)
DEV_DROP_WAL: Final = 1_000_000
"""WAL sent from the user-drop allocation to each funded dev account on a devnet deploy."""


@dataclass(frozen=True)
class WalAllocations:
    """The five WAL allocation addresses, in WAL constructor order."""

    community_reserve: str
    user_drop: str
    subsidies: str
    contributors: str
    investors: str

    def as_args(self) -> list[ChecksumAddress]:
        return [Web3.to_checksum_address(getattr(self, name)) for name in ALLOCATION_NAMES]

    @classmethod
    def parse(cls, text: str) -> WalAllocations:
        """From ``reserve,drop,subsidies,contributors,investors`` (five addresses)."""
        parts = [part.strip() for part in text.split(",")]
        if len(parts) != len(ALLOCATION_NAMES) or not all(Web3.is_address(p) for p in parts):
            raise DeploymentError(
                "allocations must be five comma-separated addresses: "
                "community reserve, user drop, subsidies, contributors, investors"
            )
        return cls(*parts)


@dataclass(frozen=True)
class DeployConfig:
    allocations: WalAllocations
    user_drop_key: str | None = None
    """Private key of the user-drop address; when given, ``drop_recipients`` get WAL."""
    drop_recipients: Sequence[str] = ()
    drop_amount_wal: int = DEV_DROP_WAL
    governance: GovernanceParameters = DEVNET_GOVERNANCE
    rewards: RewardsParameters = DEVNET_REWARDS
    subsidies_key: str | None = None
    """Private key of the subsidies address; when given, it approves StakingRewards for its
    whole balance (the subsidy stream, at most ``rewards.subsidy_rate`` per epoch)."""
    keep_deployer_owner: bool = False
    """Leave every Ownable contract owned by the deployer (tests that call setters
    directly); by default ownership passes to the timelock once everything is deployed."""


@dataclass
class DeployContext:
    """What a deploy step sees: the client, compiled artifacts, config and prior addresses."""

    client: ChainClient
    artifacts: Artifacts
    config: DeployConfig
    deployed: dict[str, ChecksumAddress] = field(default_factory=dict)

    def deploy(self, name: str, *args: Any) -> ChecksumAddress:
        contract, _ = self.client.deploy(
            self.artifacts.abi(name), self.artifacts.bytecode(name), *args
        )
        return contract.address

    def contract(self, name: str) -> Contract:
        return self.client.contract(self.deployed[name], self.artifacts.abi(name))


DeployStep = Callable[[DeployContext], ChecksumAddress]


def _deploy_wal(context: DeployContext) -> ChecksumAddress:
    address = context.deploy("WAL", *context.config.allocations.as_args())
    config = context.config
    if config.user_drop_key is not None and config.drop_recipients:
        dropper = context.client.with_account(config.user_drop_key)
        if dropper.address != Web3.to_checksum_address(config.allocations.user_drop):
            raise DeploymentError("user_drop_key is not the key of the user-drop address")
        wal = context.client.contract(address, context.artifacts.abi("WAL"))
        amount = config.drop_amount_wal * FROST_PER_WAL
        for recipient in config.drop_recipients:
            if Web3.to_checksum_address(recipient) != dropper.address:
                dropper.transact(
                    wal.functions.transfer(Web3.to_checksum_address(recipient), amount)
                )
    return address


def _deploy_staking(context: DeployContext) -> ChecksumAddress:
    """Staking with devnet parameters, owned by the deployer until the hand-over."""
    arguments = StakingParameters().constructor_args(
        context.deployed["WAL"], context.client.address
    )
    return context.deploy("Staking", *arguments)


def _deploy_blob_registry(context: DeployContext) -> ChecksumAddress:
    """BlobRegistry paying in WAL, following Staking, owned by the deployer until the
    hand-over."""
    deployed = context.deployed
    arguments = RegistryParameters().constructor_args(
        deployed["WAL"], deployed["Staking"], context.client.address
    )
    return context.deploy("BlobRegistry", *arguments)


def _deploy_storage_challenges(context: DeployContext) -> ChecksumAddress:
    """StorageChallenges over Staking and BlobRegistry (docs/availability.md); no owner."""
    deployed = context.deployed
    return context.deploy(
        "StorageChallenges",
        deployed["Staking"],
        deployed["BlobRegistry"],
        DEFAULT_RESPONSE_WINDOW,
    )


def _deploy_staking_rewards(context: DeployContext) -> ChecksumAddress:
    """StakingRewards paying Staking's epochs from BlobRegistry's pools and the subsidies
    allocation, weighted by StorageChallenges; attached to Staking (docs/economics.md)."""
    deployed, config, client = context.deployed, context.config, context.client
    address = context.deploy(
        "StakingRewards",
        *config.rewards.constructor_args(
            deployed["WAL"],
            deployed["Staking"],
            deployed["BlobRegistry"],
            config.allocations.subsidies,
            client.address,
        ),
    )
    client.transact(context.contract("Staking").functions.setRewards(address))
    if "StorageChallenges" in deployed:
        rewards = client.contract(address, context.artifacts.abi("StakingRewards"))
        client.transact(rewards.functions.setAvailabilityScore(deployed["StorageChallenges"]))
    if config.subsidies_key is not None:
        holder = client.with_account(config.subsidies_key)
        if holder.address != Web3.to_checksum_address(config.allocations.subsidies):
            raise DeploymentError("subsidies_key is not the key of the subsidies address")
        wal = context.contract("WAL").functions
        holder.transact(wal.approve(address, client.call(wal.balanceOf(holder.address))))
    return address


def _deploy_timelock(context: DeployContext) -> ChecksumAddress:
    """WalrusTimelock: anyone may execute a ready operation; the deployer is admin only
    until the governor is wired in (next step)."""
    return context.deploy(
        "WalrusTimelock",
        context.config.governance.timelock_delay,
        [],
        [ZERO_ADDRESS],
        context.client.address,
    )


def _deploy_governor(context: DeployContext) -> ChecksumAddress:
    """WalrusGovernor voting with WAL; made the timelock's only proposer and canceller,
    after which the deployer renounces its admin role on the timelock."""
    deployed = context.deployed
    address = context.deploy(
        "WalrusGovernor",
        *context.config.governance.governor_args(deployed["WAL"], deployed["WalrusTimelock"]),
    )
    timelock = context.contract("WalrusTimelock").functions
    client = context.client
    for role in ("PROPOSER_ROLE", "CANCELLER_ROLE"):
        client.transact(timelock.grantRole(client.call(getattr(timelock, role)()), address))
    admin_role = client.call(timelock.DEFAULT_ADMIN_ROLE())
    client.transact(timelock.renounceRole(admin_role, client.address))
    return address


def _deploy_shared_blob(context: DeployContext) -> ChecksumAddress:
    """SharedBlob: holds shared blob tokens anyone may fund and extend (docs/seal.md)."""
    return context.deploy("SharedBlob", context.deployed["BlobRegistry"], context.deployed["WAL"])


def _deploy_blob_owner_policy(context: DeployContext) -> ChecksumAddress:
    """Seal policy: the owner (or approved operator) of blob token `id` may decrypt."""
    return context.deploy("BlobOwnerPolicy", context.deployed["BlobRegistry"])


def _deploy_time_lock_policy(context: DeployContext) -> ChecksumAddress:
    """Seal policy: an id locked until a time is readable by anyone from then on."""
    return context.deploy("TimeLockPolicy")


def _deploy_key_server_registry(context: DeployContext) -> ChecksumAddress:
    """KeyServerRegistry: the Seal key servers clients encrypt to (docs/seal.md); no owner."""
    return context.deploy("KeyServerRegistry")


STEPS: list[tuple[str, DeployStep]] = [
    ("WAL", _deploy_wal),
    ("Staking", _deploy_staking),
    ("BlobRegistry", _deploy_blob_registry),
    ("StorageChallenges", _deploy_storage_challenges),
    ("StakingRewards", _deploy_staking_rewards),
    ("WalrusTimelock", _deploy_timelock),
    ("WalrusGovernor", _deploy_governor),
    ("SharedBlob", _deploy_shared_blob),
    ("BlobOwnerPolicy", _deploy_blob_owner_policy),
    ("TimeLockPolicy", _deploy_time_lock_policy),
    ("KeyServerRegistry", _deploy_key_server_registry),
]
"""Contracts deployed by :func:`deploy`, in order. Append (name, step) to add one."""


@dataclass(frozen=True)
class Deployment:
    """Where the contracts of one chain live; ABIs come from the compile cache."""

    chain_id: int
    deploy_block: int
    abi_hash: str
    contracts: dict[str, ChecksumAddress]
    seal: SealTrust | None = None
    """The key servers clients encrypt to by default (None: none trusted yet)."""

    def address(self, name: str) -> ChecksumAddress:
        try:
            return self.contracts[name]
        except KeyError:
            have = ", ".join(sorted(self.contracts)) or "none"
            raise DeploymentError(
                f"contract {name} is not in the deployment for chain {self.chain_id} "
                f"(deployed: {have}); redeploy with `walrus devnet deploy`"
            ) from None

    def contract(self, client: ChainClient, artifacts: Artifacts, name: str) -> Contract:
        return client.contract(self.address(name), artifacts.abi(name))

    def to_json(self) -> dict[str, Any]:
        raw: dict[str, Any] = {
            "chain_id": self.chain_id,
            "deploy_block": self.deploy_block,
            "abi_hash": self.abi_hash,
            "contracts": dict(self.contracts),
        }
        if self.seal is not None:
            raw[SEAL_SECTION] = self.seal.to_json()
        return raw

    @classmethod
    def from_json(cls, raw: Any, source: str = "deployment") -> Deployment:
        try:
            return cls(
                chain_id=int(raw["chain_id"]),
                deploy_block=int(raw["deploy_block"]),
                abi_hash=str(raw["abi_hash"]),
                contracts={
                    str(name): Web3.to_checksum_address(address)
                    for name, address in dict(raw["contracts"]).items()
                },
                seal=(
                    SealTrust.from_json(raw[SEAL_SECTION], source)
                    if raw.get(SEAL_SECTION) is not None
                    else None
                ),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise DeploymentError(f"{source} is malformed ({error}); redeploy") from None


def deploy(
    client: ChainClient,
    artifacts: Artifacts,
    config: DeployConfig,
    steps: Sequence[tuple[str, DeployStep]] = STEPS,
) -> Deployment:
    """Run every step in order against ``client``'s chain; returns the new deployment."""
    start_block = client.block_number() + 1
    context = DeployContext(client, artifacts, config)
    for name, step in steps:
        context.deployed[name] = step(context)
    if not config.keep_deployer_owner and "WalrusTimelock" in context.deployed:
        hand_ownership_to(context, context.deployed["WalrusTimelock"])
    return Deployment(client.chain_id, start_block, artifacts.abi_hash, dict(context.deployed))


def _is_ownable(abi: Sequence[dict[str, Any]]) -> bool:
    names = {entry.get("name") for entry in abi if entry.get("type") == "function"}
    return {"owner", "transferOwnership"} <= names


def hand_ownership_to(context: DeployContext, new_owner: ChecksumAddress) -> list[str]:
    """Transfer every deployed Ownable contract the deployer owns to ``new_owner`` (the
    timelock); returns their names. Generic over STEPS, so contracts added later are
    covered. Ownable2Step contracts would need the timelock to accept, which only a
    proposal can do: they are refused rather than left half transferred."""
    client = context.client
    moved = []
    for name, address in context.deployed.items():
        abi = context.artifacts.abi(name)
        if not _is_ownable(abi) or address == new_owner:
            continue
        functions = client.contract(address, abi).functions
        if client.call(functions.owner()) != client.address:
            continue
        if any(entry.get("name") == "acceptOwnership" for entry in abi):
            raise DeploymentError(
                f"{name} is Ownable2Step: the timelock cannot accept ownership during deploy; "
                "use Ownable (docs/governance.md)"
            )
        client.transact(functions.transferOwnership(new_owner))
        moved.append(name)
    return moved


def deployment_path(chain_id: int, directory: Path = DEPLOYMENTS_DIR) -> Path:
    return directory / f"{chain_id}.json"


def write_deployment_file(path: Path, raw: dict[str, Any]) -> None:
    """Write deployment JSON `raw` to `path` whole: readers never see half a file."""
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(raw, indent=2) + "\n")
    partial.replace(path)


def save_deployment(deployment: Deployment, directory: Path = DEPLOYMENTS_DIR) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = deployment_path(deployment.chain_id, directory)
    write_deployment_file(path, deployment.to_json())
    return path


def load_deployment(
    chain_id: int, artifacts: Artifacts | None = None, directory: Path = DEPLOYMENTS_DIR
) -> Deployment:
    """The deployment recorded for ``chain_id``; DeploymentError if it is missing, malformed
    or (when ``artifacts`` are given) deployed from contracts whose ABIs have changed since."""
    path = deployment_path(chain_id, directory)
    try:
        raw = json.loads(path.read_text())
    except FileNotFoundError:
        raise DeploymentError(
            f"no deployment for chain {chain_id} ({path} is missing); "
            "run `walrus devnet deploy` (or scripts/deploy) first"
        ) from None
    except ValueError:
        raise DeploymentError(f"{path} is not valid JSON; redeploy") from None
    deployment = Deployment.from_json(raw, str(path))
    if deployment.chain_id != chain_id:
        raise DeploymentError(f"{path} is for chain {deployment.chain_id}, not {chain_id}")
    if artifacts is not None and deployment.abi_hash != artifacts.abi_hash:
        raise DeploymentError(
            f"{path} was deployed from different contract sources (ABI hash "
            f"{deployment.abi_hash[:12]}, sources now {artifacts.abi_hash[:12]}); redeploy"
        )
    return deployment


def devnet_config(accounts: Sequence[LocalAccount]) -> DeployConfig:
    """Devnet allocations: dev accounts 0-4 hold the five allocations (reserve, user drop,
    subsidies, contributors, investors) and the user drop pays DEV_DROP_WAL to every
    account in ``accounts``, so demos and tests can pay in WAL; the subsidies holder
    approves StakingRewards for the subsidy stream."""
    if len(accounts) < len(ALLOCATION_NAMES):
        raise DeploymentError(f"a devnet deploy needs at least {len(ALLOCATION_NAMES)} accounts")
    allocations = WalAllocations(*(account.address for account in accounts[:5]))
    return DeployConfig(
        allocations=allocations,
        user_drop_key=accounts[1].key.hex(),
        drop_recipients=[account.address for account in accounts],
        subsidies_key=accounts[2].key.hex(),
    )
