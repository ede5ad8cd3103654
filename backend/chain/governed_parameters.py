"""The protocol parameters governance can change: name -> (contract, setter, argument).

A setter may take several parameters (``Staking.setCommitteeParameters(minStake,
maxCommitteeSize, maxShardShareBps)``): a proposal that changes one of them passes the
others' current on-chain values, so ``--set max_committee_size=7`` changes nothing else.
To govern a new parameter, add one :class:`GovernedParameter` to :data:`GOVERNED`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from web3 import Web3
from web3.contract import Contract

from backend.chain.client import ChainClient
from backend.chain.errors import ChainError
from backend.chain.governance import Call, GovernanceError

if TYPE_CHECKING:
    from backend.chain.compiler import Artifacts
    from backend.chain.deployment import Deployment


@dataclass(frozen=True)
class Setter:
    """An owner-only function and, for each of its arguments, the getter of its value."""

    contract: str
    function: str
    getters: tuple[str, ...]


@dataclass(frozen=True)
class GovernedParameter:
    name: str
    setter: Setter
    getter: str
    """The public getter of this parameter (one of ``setter.getters``)."""
    unit: str
    description: str


_EPOCH = Setter("Staking", "setEpochDuration", ("epochDuration",))
_COMMITTEE = Setter(
    "Staking", "setCommitteeParameters", ("minStake", "maxCommitteeSize", "maxShardShareBps")
)
_STORAGE_HORIZON = Setter("BlobRegistry", "setMaxEpochsAhead", ("maxEpochsAhead",))
_BURN = Setter("StakingRewards", "setBurnShare", ("burnShareBps",))
_SUBSIDY = Setter("StakingRewards", "setSubsidyRate", ("subsidyRate",))

GOVERNED: Final[dict[str, GovernedParameter]] = {
    parameter.name: parameter
    for parameter in (
        GovernedParameter(
            "epoch_duration", _EPOCH, "epochDuration", "seconds", "length of an epoch"
        ),
        GovernedParameter(
            "max_epochs_ahead",
            _STORAGE_HORIZON,
            "maxEpochsAhead",
            "epochs",
            "how far ahead storage can be bought",
        ),
        GovernedParameter(
            "min_stake", _COMMITTEE, "minStake", "FROST", "least stake for committee membership"
        ),
        GovernedParameter(
            "max_committee_size",
            _COMMITTEE,
            "maxCommitteeSize",
            "nodes",
            "largest committee (from the next epoch change)",
        ),
        GovernedParameter(
            "max_shard_share_bps",
            _COMMITTEE,
            "maxShardShareBps",
            "bps of n_shards",
            "most shards one node may hold",
        ),
        GovernedParameter(
            "burn_share_bps", _BURN, "burnShareBps", "bps", "share of each reward pool burned"
        ),
        GovernedParameter(
            "subsidy_rate",
            _SUBSIDY,
            "subsidyRate",
            "FROST/epoch",
            "subsidy paid into each epoch's reward pool",
        ),
    )
}

NOT_GOVERNABLE: Final = {
    "n_shards": "n_shards is fixed at deployment: every registered blob's slivers, blob id "
    "and shard assignment are computed for it, so changing it would strand stored blobs "
    "(docs/governance.md)",
}


class UnknownParameter(GovernanceError):
    """``--set`` names a parameter governance does not know (or cannot change)."""


class ParameterUnavailable(GovernanceError):
    """The deployment's contract has no such setter (deployed from older sources)."""


def parse_assignments(texts: Iterable[str]) -> dict[str, int]:
    """``["epoch_duration=600", ...]`` -> ``{"epoch_duration": 600}``; named errors for an
    unknown or ungovernable name, a missing ``=`` or a value that is not a whole number."""
    values: dict[str, int] = {}
    for text in texts:
        name, equals, raw = text.partition("=")
        name = name.strip().replace("-", "_")
        if not equals or not name:
            raise GovernanceError(f"--set takes <parameter>=<value>, got {text!r}")
        if name in NOT_GOVERNABLE:
            raise UnknownParameter(NOT_GOVERNABLE[name])
        if name not in GOVERNED:
            known = ", ".join(GOVERNED)
            raise UnknownParameter(f"unknown parameter {name!r} (governed: {known})")
        try:
            value = int(raw.strip().replace("_", ""))
        except ValueError:
            raise GovernanceError(f"{name} must be a whole number, got {raw!r}") from None
        if value < 0:
            raise GovernanceError(f"{name} must not be negative, got {value}")
        values[name] = value
    if not values:
        raise GovernanceError("give at least one --set <parameter>=<value>")
    return values


def current_values(
    client: ChainClient, deployment: Deployment, artifacts: Artifacts
) -> dict[str, int | None]:
    """Every governed parameter's value on chain (None when the contract lacks it)."""
    values: dict[str, int | None] = {}
    for name, parameter in GOVERNED.items():
        contract = _deployed(client, deployment, artifacts, parameter.setter.contract)
        if contract is None or not _has_function(contract.abi, parameter.getter):
            values[name] = None
            continue
        values[name] = int(client.call(contract.functions[parameter.getter]()))
    return values


def calls_for(
    client: ChainClient,
    deployment: Deployment,
    artifacts: Artifacts,
    assignments: Mapping[str, int],
) -> list[Call]:
    """One call per setter touched by ``assignments``, other arguments at their current
    values; ParameterUnavailable / GovernanceError for a setter or value that cannot be."""
    by_setter: dict[Setter, dict[str, int]] = {}
    for name, value in assignments.items():
        parameter = GOVERNED[name]
        by_setter.setdefault(parameter.setter, {})[parameter.getter] = value
    calls = []
    for setter, changed in by_setter.items():
        contract = _deployed(client, deployment, artifacts, setter.contract)
        if contract is None:
            raise ParameterUnavailable(
                f"this deployment has no {setter.contract} contract, so "
                f"{', '.join(changed)} cannot be governed here; redeploy"
            )
        inputs = _inputs(contract.abi, setter.function)
        if inputs is None or len(inputs) != len(setter.getters):
            raise ParameterUnavailable(
                f"{setter.contract} at {contract.address} has no {setter.function}; "
                "redeploy from the current sources"
            )
        args = [
            changed[getter] if getter in changed else int(client.call(contract.functions[getter]()))
            for getter in setter.getters
        ]
        for getter, value, kind in zip(setter.getters, args, inputs, strict=True):
            _check_fits(getter, value, kind)
        calldata = Web3.to_bytes(hexstr=contract.encode_abi(setter.function, args))
        calls.append(Call(contract.address, 0, bytes(calldata)))
    return calls


def describe(assignments: Mapping[str, int]) -> str:
    """A default proposal description: ``Set epoch_duration=600, max_epochs_ahead=9``."""
    return "Set " + ", ".join(f"{name}={value}" for name, value in assignments.items())


def _deployed(
    client: ChainClient, deployment: Deployment, artifacts: Artifacts, name: str
) -> Contract | None:
    if name not in deployment.contracts or name not in artifacts:
        return None
    return deployment.contract(client, artifacts, name)


def _has_function(abi: Sequence[Any], name: str) -> bool:
    return _inputs(abi, name) is not None


def _inputs(abi: Sequence[Any], name: str) -> list[str] | None:
    for entry in abi:
        if entry.get("type") == "function" and entry.get("name") == name:
            return [str(item["type"]) for item in entry.get("inputs", [])]
    return None


def _check_fits(getter: str, value: int, kind: str) -> None:
    if not kind.startswith("uint"):
        raise ChainError(f"governed argument {getter} has unsupported type {kind}")
    bits = int(kind[4:] or 256)
    if not 0 <= value < 2**bits:
        raise GovernanceError(f"{getter} must fit {kind} (0 ..= {2**bits - 1}), got {value}")
